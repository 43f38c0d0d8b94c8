package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.event.GradusEvent;
import io.gradus.api.runtime.BundleInfo;
import io.gradus.host.GradusHost;
import io.gradus.host.HostSettings;
import io.gradus.jobs.BundlePins;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Gradus host for one test class: the assembled distribution's system bundles, a private
 * copy of its deploy folder, a private state folder, and the console on a free port.
 */
final class RunningHost implements BeforeAllCallback, AfterAllCallback {

    static final ObjectMapper JSON = new ObjectMapper();

    private final BundlePins pins;
    private Path workDir;
    private GradusHost host;
    private URI console;
    /** Every event since the host started (a queue: a copy-on-write list would copy itself at every event of a long run). */
    private final Queue<GradusEvent> events = new ConcurrentLinkedQueue<>();
    private final HttpClient http = HttpClient.newHttpClient();

    /** A host whose bundle operations consult its own job service's pins, as in production. */
    RunningHost() {
        this(null);
    }

    /** A host whose bundle operations consult {@code pins} instead, as if jobs held them. */
    RunningHost(BundlePins pins) {
        this.pins = pins;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Path distribution = Path.of(System.getProperty("gradus.distribution"));
        assertThat(distribution.resolve("system")).as("assembled distribution (mvn package builds it)").isDirectory();
        workDir = Files.createTempDirectory("gradus-itest-");
        Path deploy = Files.createDirectories(workDir.resolve("deploy"));
        try (Stream<Path> jars = Files.list(distribution.resolve("deploy"))) {
            for (Path jar : jars.toList()) {
                Files.copy(jar, deploy.resolve(jar.getFileName()));
            }
        }
        HostSettings settings = new HostSettings(distribution.resolve("system"), deploy, workDir.resolve("var"), "127.0.0.1", 0);
        host = pins == null ? GradusHost.start(settings) : GradusHost.start(settings, pins);
        host.events().subscribe(events::add);
        assertThat(host.awaitDeployFolder(Duration.ofSeconds(30))).as("deploy folder processed").isTrue();
        findConsole();
    }

    /** Finds the console's URL again (after its bundle was stopped and started: a new port). */
    void findConsole() throws InterruptedException {
        console = host.awaitConsole(Duration.ofSeconds(30)).orElseThrow(() -> new AssertionError(
                "console did not come up; problems: " + host.problems()));
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (host != null) {
            host.close();
        }
        if (workDir != null) {
            try (Stream<Path> paths = Files.walk(workDir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    GradusHost host() {
        return host;
    }

    Path deployDir() {
        return host.settings().deployDir();
    }

    /**
     * Puts a jar into the deploy folder the way a careful operator does: written aside, then moved
     * in one step, so the watcher never sees half a file.
     */
    Path deploy(String fileName, byte[] jar) throws IOException {
        Path target = deployDir().resolve(fileName);
        Path tmp = Files.createTempFile(deployDir(), ".tmp-", ".part");
        Files.write(tmp, jar);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    /** Deploys the sample technique {@code symbolicName} 1.0.0 as {@code <symbolicName>.jar} and waits until it runs. */
    Path deploySample(String symbolicName) throws IOException, InterruptedException {
        Path file = deploy(symbolicName + ".jar", TestBundles.sample(symbolicName, "1.0.0"));
        await(symbolicName + " 1.0.0 runs", 20, () -> running(symbolicName, "1.0.0"));
        return file;
    }

    /** What runs while two versions of the sample technique are installed. */
    @FunctionalInterface
    interface WithSamples {
        void run() throws Exception;
    }

    /**
     * Runs {@code body} while the sample tuner is installed twice, from two bundles: 1.0.0
     * ({@code <SAMPLE>.older}) and 1.1.0 ({@code <SAMPLE>.newer}), both running; removes both after.
     */
    void withTwoSampleVersions(WithSamples body) throws Exception {
        String older = TestBundles.SAMPLE + ".older";
        String newer = TestBundles.SAMPLE + ".newer";
        Path olderJar = deploy(older + ".jar", TestBundles.sample(older, "1.0.0"));
        Path newerJar = deploy(newer + ".jar", TestBundles.sample(newer, "1.1.0"));
        try {
            await("both samples run", 20, () -> running(older, "1.0.0") && running(newer, "1.1.0"));
            body.run();
        } finally {
            undeploy(olderJar, older);
            undeploy(newerJar, newer);
        }
    }

    /** Deletes the deploy file of bundle {@code symbolicName} and waits until the bundle is gone. */
    void undeploy(Path file, String symbolicName) throws IOException, InterruptedException {
        Files.delete(file);
        await("deleting " + file.getFileName() + " removes " + symbolicName, 20, () -> bundle(symbolicName).isEmpty());
    }

    /** The bundle with this symbolic name, if one is installed. */
    Optional<BundleInfo> bundle(String symbolicName) {
        return host.bundleAdmin().bundles().stream().filter(b -> symbolicName.equals(b.symbolicName())).findFirst();
    }

    /** Whether the bundle with this symbolic name is ACTIVE at {@code version}. */
    boolean running(String symbolicName, String version) {
        return bundle(symbolicName).filter(b -> b.version().equals(version) && b.state().equals("ACTIVE")).isPresent();
    }

    /** Every event published since the host started. */
    List<GradusEvent> events() {
        return List.copyOf(events);
    }

    /** Lets go of the events recorded so far (a long test measures the heap without its own records). */
    void forgetEvents() {
        events.clear();
    }

    String token() {
        return host.consoleToken().orElseThrow();
    }

    URI url(String path) {
        return console.resolve(path);
    }

    /** Sends a request to the console; {@code token} may be null; a body goes as a jar. */
    Response send(String method, String path, byte[] body, String token) throws IOException, InterruptedException {
        return send(method, path, body, token, "application/java-archive");
    }

    /** Sends a request to the console with a body of {@code contentType}. */
    Response send(String method, String path, byte[] body, String token, String contentType)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(url(path))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Response(response.statusCode(), JSON.readTree(response.body()));
    }

    HttpClient http() {
        return http;
    }

    /** Polls {@code GET /api/jobs/{id}} until the job is neither queued nor running, and returns it. */
    JsonNode awaitJobEnd(String id, int seconds) throws InterruptedException {
        JsonNode[] job = {null};
        await("job " + id + " ends", seconds, () -> {
            try {
                job[0] = send("GET", "/api/jobs/" + id, null, null).json();
                return !List.of("queued", "running").contains(job[0].get("state").asText());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        });
        return job[0];
    }

    record Response(int status, JsonNode json) {}

    /** Polls {@code condition} until it holds, failing with {@code what} after {@code seconds}. */
    static void await(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting until " + what);
            }
            Thread.sleep(50);
        }
    }
}
