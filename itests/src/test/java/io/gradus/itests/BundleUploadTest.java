package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.runtime.BundleInfo;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.jar.JarInputStream;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("Installing and updating through the console's API")
class BundleUploadTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @Test
    @DisplayName("the README's console lines run as written: curl lists the bundles, gradus bundles shows them as a table,"
            + " TOKEN and curl install a jar, curl -N streams its event")
    void readmeConsoleLines() throws Exception {
        String bsn = TestBundles.SAMPLE + ".readme";
        try (ReadmeShell shell = new ReadmeShell(HOST)) {
            Files.write(shell.checkout().resolve("my-technique.jar"), TestBundles.sample(bsn, "1.0.0"));
            long clients = HOST.send("GET", "/api/events/clients", null, null).json().get("connected").asLong();
            Process events = shell.start(ReadmeCommands.line("curl -N "));
            List<String> streamed = new CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> events.inputReader(StandardCharsets.UTF_8).lines().forEach(streamed::add));
            try {
                await("curl -N is connected", 20, () -> eventClients() > clients);

                ReadmeShell.Result listed = shell.run(ReadmeCommands.line("curl http://127.0.0.1:8080/api/bundles"), 60);
                assertThat(listed.exit()).as(listed.err()).isZero();
                List<BundleInfo> bundles = HOST.host().bundleAdmin().bundles();
                assertThat(RunningHost.JSON.readTree(listed.out()).valueStream().map(b -> b.get("id").asLong()).toList())
                        .containsExactlyElementsOf(bundles.stream().map(BundleInfo::id).toList());

                ReadmeShell.Result table = shell.run(ReadmeCommands.line("./gradus bundles"), 180);
                assertThat(table.exit()).as(table.err()).isZero();
                assertThat(table.out()).startsWith("Bundles of the running host at http://" + HOST.url("/").getAuthority());
                for (BundleInfo b : bundles) {
                    assertThat(table.out()).containsPattern("(?m)^ *" + b.id() + " +" + b.state() + " +"
                            + Pattern.quote(b.version()) + " +" + Pattern.quote(b.symbolicName()));
                }

                ReadmeShell.Result installed = shell.run(ReadmeCommands.line("TOKEN=$(cat ") + "\n"
                        + ReadmeCommands.line("--data-binary @my-technique.jar"), 60);
                assertThat(installed.exit()).as("curl's exit code: " + installed.err()).isZero();
                assertThat(RunningHost.JSON.readTree(installed.out()).get("state").asText()).as(installed.out())
                        .isEqualTo("ACTIVE");
                assertThat(HOST.bundle(bsn)).hasValueSatisfying(b -> assertThat(b.version()).isEqualTo("1.0.0"));
                assertThat(HOST.host().catalog().tuner("sample", null)).isPresent();
                // A server-sent event is an "event:" line followed by its "data:" line.
                await("curl -N prints the bundle's event", 20, () -> {
                    List<String> seen = List.copyOf(streamed);
                    for (int i = 1; i < seen.size(); i++) {
                        if (seen.get(i - 1).equals("event: bundle.changed") && seen.get(i).contains(bsn)) {
                            return true;
                        }
                    }
                    return false;
                });
            } finally {
                events.descendants().forEach(ProcessHandle::destroy);
                events.destroy();
            }
        }
        RunningHost.Response removed = HOST.send("DELETE", "/api/bundles/" + HOST.bundle(bsn).orElseThrow().id(), null, HOST.token());
        assertThat(removed.status()).isEqualTo(200);
    }

    private static long eventClients() {
        try {
            return HOST.send("GET", "/api/events/clients", null, null).json().get("connected").asLong();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    @DisplayName("install and update accept the jar whatever the Content-Type says (form-encoded, none, octet-stream)")
    void anyContentType() throws Exception {
        String bsn = TestBundles.SAMPLE + ".anytype";
        RunningHost.Response installed = HOST.send("POST", "/api/bundles", TestBundles.sample(bsn, "1.0.0"), HOST.token(),
                "application/x-www-form-urlencoded");
        assertThat(installed.status()).as(installed.json().toString()).isEqualTo(201);
        long id = installed.json().get("id").asLong();

        RunningHost.Response updated = HOST.send("POST", "/api/bundles/" + id + "/update", TestBundles.sample(bsn, "1.1.0"),
                HOST.token(), "multipart/form-data; boundary=xyz");
        assertThat(updated.status()).as(updated.json().toString()).isEqualTo(200);
        assertThat(updated.json().get("version").asText()).isEqualTo("1.1.0");

        RunningHost.Response again = HOST.send("POST", "/api/bundles/" + id + "/update", TestBundles.sample(bsn, "1.2.0"),
                HOST.token(), "application/octet-stream");
        assertThat(again.json().get("version").asText()).isEqualTo("1.2.0");

        RunningHost.Response garbage = HOST.send("POST", "/api/bundles", "a=%zz&b".getBytes(StandardCharsets.UTF_8), HOST.token(),
                "application/x-www-form-urlencoded");
        assertThat(garbage.status()).isEqualTo(400);
        assertThat(garbage.json().get("error").asText()).contains("not a jar").doesNotContain("hex");
        assertThat(HOST.send("DELETE", "/api/bundles/" + id, null, HOST.token()).status()).isEqualTo(200);
    }

    @Test
    @DisplayName("a jar whose symbolic name holds ../ is refused before it becomes a file name, and nothing is written outside the deploy folder")
    void pathTraversal() throws Exception {
        Path deploy = HOST.deployDir();
        List<Path> before = filesAround(deploy);
        for (String name : List.of("../../escaped", "../escaped", "sub/escaped", "..", "a..b")) {
            RunningHost.Response response = HOST.send("POST", "/api/bundles", TestBundles.withRawSymbolicName(name), HOST.token());
            assertThat(response.status()).as(name).isEqualTo(400);
            assertThat(response.json().get("error").asText()).contains("'" + name + "' is not a valid symbolic name");
        }
        assertThat(filesAround(deploy)).as("no file was written in or around the deploy folder").isEqualTo(before);
        assertThat(HOST.host().bundleAdmin().bundles()).noneMatch(b -> String.valueOf(b.symbolicName()).contains("escaped"));
    }

    @Test
    @DisplayName("concurrent installs and updates of one bundle run one at a time: one install wins, every update applies, and the folder, the framework and the registry agree at the end")
    void concurrentInstallsAndUpdates() throws Exception {
        String bsn = TestBundles.SAMPLE + ".concurrent";
        int callers = 6;
        byte[] first = TestBundles.sample(bsn, "1.0.0");
        List<RunningHost.Response> installs = all(callers, i -> HOST.send("POST", "/api/bundles", first, HOST.token()));
        assertThat(installs).extracting(RunningHost.Response::status).containsOnly(201, 409).containsOnlyOnce(201);
        long id = installs.stream().filter(r -> r.status() == 201).findFirst().orElseThrow().json().get("id").asLong();

        List<String> versions = IntStream.rangeClosed(1, callers).mapToObj(i -> "1." + i + ".0").toList();
        List<byte[]> jars = versions.stream().map(v -> TestBundles.sample(bsn, v)).toList();
        List<RunningHost.Response> updates = all(callers, i ->
                HOST.send("POST", "/api/bundles/" + id + "/update", jars.get(i), HOST.token()));
        assertThat(updates).allSatisfy(r -> assertThat(r.status()).as(r.json().toString()).isEqualTo(200));
        assertThat(updates).extracting(r -> r.json().get("version").asText())
                .as("each update answers with the version it applied").containsExactlyInAnyOrderElementsOf(versions);

        BundleInfo info = HOST.bundle(bsn).orElseThrow();
        assertThat(info.id()).isEqualTo(id);
        assertThat(info.state()).isEqualTo("ACTIVE");
        List<Path> files;
        try (Stream<Path> list = Files.list(HOST.deployDir())) {
            files = list.filter(f -> f.getFileName().toString().startsWith(bsn)).toList();
        }
        assertThat(files).as("one file for the bundle").containsExactly(HOST.deployDir().resolve(bsn + ".jar"));
        assertThat(versionIn(files.getFirst())).as("the file holds the version that runs").isEqualTo(info.version());
        assertThat(HOST.host().catalog().techniques()).filteredOn(t -> t.name().equals("sample"))
                .singleElement().satisfies(t -> assertThat(t.version()).isEqualTo(info.version()));
        Thread.sleep(2 * 500); // two polls of the folder change nothing
        assertThat(HOST.bundle(bsn).orElseThrow().version()).isEqualTo(info.version());

        assertThat(HOST.send("DELETE", "/api/bundles/" + id, null, HOST.token()).status()).isEqualTo(200);
        await("the technique goes", 10, () -> HOST.host().catalog().tuner("sample", null).isEmpty());
    }

    private static String versionIn(Path jar) throws Exception {
        try (JarInputStream in = new JarInputStream(new ByteArrayInputStream(Files.readAllBytes(jar)))) {
            return in.getManifest().getMainAttributes().getValue("Bundle-Version");
        }
    }

    private static List<Path> filesAround(Path deploy) throws Exception {
        try (Stream<Path> files = Files.walk(deploy.getParent())) {
            return files.filter(f -> !f.startsWith(deploy.getParent().resolve("var"))).sorted().toList();
        }
    }

    private interface Call {
        RunningHost.Response send(int caller) throws Exception;
    }

    /** Runs {@code call} from {@code callers} threads released at the same instant. */
    private static List<RunningHost.Response> all(int callers, Call call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<RunningHost.Response>> results = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                int caller = i;
                Callable<RunningHost.Response> task = () -> {
                    start.await();
                    return call.send(caller);
                };
                results.add(pool.submit(task));
            }
            start.countDown();
            List<RunningHost.Response> responses = new ArrayList<>();
            for (Future<RunningHost.Response> result : results) {
                responses.add(result.get());
            }
            return responses;
        } finally {
            pool.shutdownNow();
        }
    }
}
