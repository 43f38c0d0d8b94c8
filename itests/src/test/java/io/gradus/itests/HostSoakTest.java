package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.event.BundleChanged;
import io.gradus.api.event.GradusEvent;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.runtime.BundleInfo;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bounded soak of the host (45 s, then an undisturbed run of the same job): many event-stream
 * clients, some of which never read, a job training, and the console installing, updating, stopping,
 * starting and removing a technique bundle over and over, plus an update of the job's own tuner
 * bundle. See docs/DESIGN.md, "A soak of the host". The figures are printed as one {@code soak:} line:
 * {@code ./gradus mvn -o verify -pl itests -Dtest=HostSoakTest}.
 */
@DisplayName("Soak: event clients, bundle churn and a training job together")
class HostSoakTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    /** Clients that read every event, and clients that never read. */
    private static final int READERS = 50;
    private static final int STALLED = 5;
    /** How long the soak lasts; the undisturbed reference run then trains as far as the soaked job did. */
    private static final Duration SOAK = Duration.ofSeconds(45);
    /** When the heap is first measured under load (then again at the end of the soak). */
    private static final Duration WARM_UP = Duration.ofSeconds(15);
    /** Large events published in bursts (standing in for chatty job logs), so that stalled clients fill their queues. */
    private static final int BURST = 10;
    private static final long BURST_EVERY_MS = 250;
    private static final String LOG_LINE = "x".repeat(8 * 1024);
    /** The churned bundle: another bundle than the job's techniques. */
    private static final String CHURNED = TestBundles.SAMPLE + ".soak";

    @TempDir
    static Path dir;

    private static byte[] sample100;
    private static byte[] sample110;

    /** A large event, one shared text (the host's test listener keeps every event: it must not cost the heap). */
    public record LogBurst(Instant time, int n, String text) implements GradusEvent {
        @Override
        public String type() {
            return "test.log";
        }
    }

    @BeforeAll
    static void dataAndBundles() throws Exception {
        TinyJob.write(dir);
        sample100 = TestBundles.sample(CHURNED, "1.0.0");
        sample110 = TestBundles.sample(CHURNED, "1.1.0");
    }

    /** A job that runs until cancelled: full fine-tuning with the pre-training objective. */
    private static JobInfo submit(String output) {
        var jobs = HOST.host().jobs();
        return jobs.submit(jobs.read(TinyJob.yaml(1_000_000, output), "job.yaml"), SubmitOptions.in(dir.toString()));
    }

    private static JobInfo job(String id) {
        return HOST.host().jobs().job(id).orElseThrow();
    }

    private static JobInfo cancel(String id) throws InterruptedException {
        HOST.host().jobs().cancel(id);
        await("job " + id + " stops", 60, () -> job(id).state() == JobState.CANCELLED);
        return job(id);
    }

    private static List<Double> losses(String output) throws IOException {
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(output).resolve("metrics.jsonl"))) {
            JsonNode node = RunningHost.JSON.readTree(line);
            if (node.has("loss")) {
                assertThat(node.get("step").asInt()).as("metrics in step order").isEqualTo(losses.size() + 1);
                losses.add(node.get("loss").asDouble());
            }
        }
        return losses;
    }

    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static JsonNode clients() throws IOException, InterruptedException {
        return HOST.send("GET", "/api/events/clients", null, null).json();
    }

    @Test
    @DisplayName("no event lost for clients that keep up, stalled clients cut off, heap flat, the loss curve of an undisturbed run")
    void soak() throws Exception {
        // 1. Before: the idle host's heap, the console's counters, the job's tuner bundle.
        HOST.forgetEvents();
        long heapIdleBefore = heapAfterGc();
        BundleInfo full = HOST.bundle("io.gradus.plugin.full").orElseThrow();
        JsonNode countsBefore = clients();

        // 2. The clients: readers that take every event, and stalled ones that never read.
        URI events = HOST.url("/api/events");
        List<Reader> readers = new ArrayList<>();
        for (int i = 0; i < READERS; i++) {
            readers.add(Reader.open(events));
        }
        List<Socket> stalled = new ArrayList<>();
        for (int i = 0; i < STALLED; i++) {
            stalled.add(stalledClient(events));
        }
        await("every client is connected", 30, () -> count("connected") == READERS + STALLED);

        // 3. The soak: the job, the churn and the bursts.
        long start = System.nanoTime();
        Churn churn = new Churn();
        Thread churning = Thread.ofPlatform().name("soak-churn").start(churn);
        AtomicLong bursts = new AtomicLong();
        Thread bursting = Thread.ofPlatform().name("soak-bursts").start(() -> {
            while (!churn.stop) {
                for (int i = 0; i < BURST; i++) {
                    HOST.host().events().publish(new LogBurst(Instant.now(), i, LOG_LINE));
                }
                bursts.incrementAndGet();
                sleep(BURST_EVERY_MS);
            }
        });
        JobInfo soaked = submit("soak");
        await("the soaked job trains", 60, () -> job(soaked.id()).step() >= 2);

        // The job's own tuner bundle: its update waits for the job.
        var update = HOST.send("POST", "/api/bundles/" + full.id() + "/update",
                Files.readAllBytes(HOST.deployDir().resolve("gradus-plugin-full.jar")), HOST.token());
        assertThat(update.status()).as(update.json().toString()).isEqualTo(202);
        assertThat(update.json().get("pending").asText()).contains("waits for job " + soaked.id());
        assertThat(update.json().get("usedBy").toString()).contains("job " + soaked.id());

        // The heap under load, once everything has run for a while and again at the end. (The host
        // listener's record of every event is let go first: it is the test's, not the host's.)
        runFor(soaked.id(), start, WARM_UP);
        HOST.forgetEvents();
        long heapLoadedEarly = heapAfterGc();
        runFor(soaked.id(), start, SOAK);
        HOST.forgetEvents();
        long heapLoadedLate = heapAfterGc();
        churn.stop = true;
        churning.join();
        bursting.join();
        int trained = Math.toIntExact(cancel(soaked.id()).step());
        double seconds = (System.nanoTime() - start) / 1e9;

        // 4. The update of the job's tuner applied once the job let go; the churned bundle is gone.
        await("the waiting update of the job's tuner applies", 30, () -> HOST.bundle("io.gradus.plugin.full")
                .map(b -> b.pending() == null && b.state().equals("ACTIVE")).orElse(false));
        assertThat(HOST.events()).filteredOn(e -> e instanceof BundleChanged b && b.bundleId() == full.id()
                && b.change().equals("UPDATED")).hasSize(1);
        assertThat(HOST.bundle(CHURNED)).isEmpty();
        assertThat(churn.failures).as("bundle operations that failed").isEmpty();

        // 5. Every reader that was never told it missed events saw every step, once, in order; the
        // others saw steps in order, and were told how many events they missed.
        for (Reader reader : readers) {
            reader.awaitState(soaked.id(), "CANCELLED", Duration.ofSeconds(30));
            reader.close();
        }
        List<Reader> keptUp = readers.stream().filter(r -> r.dropped.get() == 0).toList();
        for (Reader reader : readers) {
            Reader.Steps steps = reader.steps(soaked.id());
            assertThat(steps.outOfOrder()).as("steps repeated or out of order").isZero();
            if (reader.dropped.get() == 0) {
                assertThat(steps.gaps()).as("steps missing for a client that kept up").isZero();
                assertThat(steps.count()).as("steps a client that kept up saw").isEqualTo(trained);
                assertThat(steps.last()).isEqualTo(trained);
            }
        }
        assertThat(keptUp).as("readers that kept up").hasSizeGreaterThanOrEqualTo(READERS / 2);

        // 6. The stalled clients were cut off, and their events dropped and counted, not buffered.
        JsonNode counts = clients();
        for (Socket socket : stalled) {
            socket.close();
        }
        await("every client is gone", 30, () -> count("connected") == 0);
        long disconnected = counts.get("disconnected").asLong() - countsBefore.get("disconnected").asLong();
        long dropped = counts.get("droppedEvents").asLong() - countsBefore.get("droppedEvents").asLong();
        long readersCutOff = readers.stream().filter(r -> r.cutOff).count();
        assertThat(disconnected).as("clients disconnected: the stalled ones, and readers cut off").isEqualTo(STALLED + readersCutOff);
        assertThat(dropped).as("events dropped for slow clients").isPositive();

        // 7. The heap: flat under load, and back where it was once idle.
        HOST.forgetEvents();
        long heapIdleAfter = heapAfterGc();
        long delivered = readers.stream().mapToLong(r -> r.events.get()).sum();
        System.out.printf(Locale.ROOT, "soak: %d event clients (%d reading, %d stalled), %.1f s, %d training steps,"
                        + " %d bundle operations (install, update, stop, start, remove of %s) and 1 update of the job's tuner"
                        + " that waited for it, %d log events in bursts of %d, %,d events delivered to the readers"
                        + " (%d of %d readers kept up), %,d dropped for slow clients, %d clients cut off;"
                        + " heap after a full GC: %.1f MiB idle before, %.1f MiB under load at %d s and %.1f MiB at %d s,"
                        + " %.1f MiB idle after%n",
                READERS + STALLED, READERS, STALLED, seconds, trained, churn.operations.get(), CHURNED,
                bursts.get() * BURST, BURST, delivered, keptUp.size(), READERS, dropped, disconnected,
                mib(heapIdleBefore), mib(heapLoadedEarly), WARM_UP.toSeconds(), mib(heapLoadedLate), SOAK.toSeconds(),
                mib(heapIdleAfter));
        // A moment under load holds, beside each client's bounded queues, what idle does not: the
        // training job's weights, optimizer state and (when the collection lands inside a step) its
        // activations, bundle revisions the churn removed but the framework has not refreshed yet, and
        // the readers' HTTP buffers in this JVM. Measured from 63 to 125 MiB over idle, depending on the
        // machine's load and where the collection lands: no tight bound holds. What the soak moves
        // (hundreds of thousands of events, hundreds of bundle revisions) would take far more than
        // 256 MiB if any of it stayed; the idle-after check below catches what stays, with room for the
        // JVM's one-time warm-up (classes, method handles, the HTTP client's tables: about 4 MiB in a
        // histogram of a run).
        long bounded = 256L << 20;
        assertThat(heapLoadedEarly - heapIdleBefore).as("heap under load, bytes over idle").isLessThan(bounded);
        assertThat(heapLoadedLate - heapIdleBefore).as("heap under load, bytes over idle").isLessThan(bounded);
        assertThat(heapIdleAfter - heapIdleBefore).as("heap growth idle, bytes").isLessThan(8L << 20);

        // 8. The churn and the clients changed nothing of the job's arithmetic: the same job, undisturbed,
        // trained as far, gives the same loss at every step.
        JobInfo reference = submit("reference");
        await("the reference trains as far as the soaked job", 600, () -> {
            JobInfo job = job(reference.id());
            assertThat(job.state().finished()).as(job.state() + ": " + job.message()).isFalse();
            return job.step() >= trained;
        });
        cancel(reference.id());
        List<Double> soakedLosses = losses("soak");
        assertThat(soakedLosses).hasSize(trained);
        assertThat(losses("reference").subList(0, trained)).as("loss per step, undisturbed vs soaked").isEqualTo(soakedLosses);
    }

    /** Waits until {@code duration} after {@code start}, checking that the job still trains. */
    private static void runFor(String jobId, long start, Duration duration) throws InterruptedException {
        while (System.nanoTime() - start < duration.toNanos()) {
            JobInfo job = job(jobId);
            assertThat(job.state()).as(job.message()).isEqualTo(JobState.RUNNING);
            Thread.sleep(200);
        }
    }

    private static double mib(long bytes) {
        return bytes / 1048576.0;
    }

    private static long count(String field) {
        try {
            return clients().get(field).asLong();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client that asks for the event stream and never reads a byte of it. */
    private static Socket stalledClient(URI events) throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(4096);
        socket.connect(new InetSocketAddress(events.getHost(), events.getPort()));
        OutputStream request = socket.getOutputStream();
        request.write(("GET /api/events HTTP/1.1\r\nHost: " + events.getAuthority() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        request.flush();
        return socket;
    }

    /** The console's bundle operations on one bundle, over and over, each checked. */
    private static final class Churn implements Runnable {
        volatile boolean stop;
        final AtomicInteger operations = new AtomicInteger();
        final List<String> failures = new CopyOnWriteArrayList<>();

        @Override
        public void run() {
            try {
                while (!stop) {
                    var installed = expect("install", "POST", "/api/bundles", sample100, 201);
                    long id = installed.get("id").asLong();
                    expect("update to 1.1.0", "POST", "/api/bundles/" + id + "/update", sample110, 200);
                    expect("stop", "POST", "/api/bundles/" + id + "/stop", new byte[0], 200);
                    expect("start", "POST", "/api/bundles/" + id + "/start", new byte[0], 200);
                    expect("update to 1.0.0", "POST", "/api/bundles/" + id + "/update", sample100, 200);
                    expect("remove", "DELETE", "/api/bundles/" + id, null, 200);
                }
            } catch (Exception | AssertionError e) {
                failures.add(String.valueOf(e));
            }
        }

        private JsonNode expect(String what, String method, String path, byte[] body, int status) throws Exception {
            var response = HOST.send(method, path, body, HOST.token());
            operations.incrementAndGet();
            if (response.status() != status) {
                throw new AssertionError(what + ": " + response.status() + " " + response.json());
            }
            return response.json();
        }
    }

    /**
     * An event-stream client that reads everything. It keeps no list of what it saw (that would grow
     * the heap the test measures): per job, the last step, how many, and what broke the sequence.
     */
    private static final class Reader implements AutoCloseable {
        final AtomicLong events = new AtomicLong();
        final AtomicLong dropped = new AtomicLong();
        private final Map<String, Steps> steps = new ConcurrentHashMap<>();
        private final Set<String> states = ConcurrentHashMap.newKeySet();
        private final InputStream body;
        private final Thread thread;
        private volatile boolean closed;
        /** Whether the server ended the stream (a client stuck for too long is disconnected). */
        volatile boolean cutOff;

        /**
         * The job.progress steps of one job as they came.
         *
         * @param gaps times a step came more than one after the one before (events missed)
         * @param outOfOrder times a step came that was not after the one before
         */
        record Steps(int last, int count, int gaps, int outOfOrder) {
            Steps next(int step) {
                return new Steps(Math.max(last, step), count + 1, gaps + (step > last + 1 ? 1 : 0),
                        outOfOrder + (step <= last ? 1 : 0));
            }
        }

        /** One HTTP/1.1 connection per client, as browsers' event streams have (no HTTP/2 multiplexing). */
        private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        private Reader(InputStream body) {
            this.body = body;
            this.thread = Thread.ofVirtual().start(this::read);
        }

        static Reader open(URI events) throws IOException, InterruptedException {
            HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(events).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(response.statusCode()).isEqualTo(200);
            return new Reader(response.body());
        }

        private void read() {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                String type = null;
                for (String line; (line = lines.readLine()) != null; ) {
                    if (line.startsWith("event: ")) {
                        type = line.substring(7);
                    } else if (line.startsWith("data: ") && type != null) {
                        events.incrementAndGet();
                        switch (type) {
                            case "job.progress" -> {
                                JsonNode data = RunningHost.JSON.readTree(line.substring(6));
                                int step = data.get("step").asInt();
                                steps.merge(data.get("jobId").asText(), new Steps(step, 1, step > 1 ? 1 : 0, 0),
                                        (before, first) -> before.next(step));
                            }
                            case "job.state" -> {
                                JsonNode data = RunningHost.JSON.readTree(line.substring(6));
                                states.add(data.get("jobId").asText() + " " + data.get("state").asText());
                            }
                            case "dropped" -> dropped.addAndGet(RunningHost.JSON.readTree(line.substring(6)).get("dropped").asLong());
                            default -> { }
                        }
                        type = null;
                    }
                }
                // The stream ended while the test still read it: the server cut this client off.
                cutOff = !closed;
            } catch (IOException e) {
                // Closed by the test (or cut off by the server): what was seen so far is what counts.
                cutOff = !closed;
            }
        }

        /** The steps of {@code jobId} this client saw. */
        Steps steps(String jobId) {
            return steps.getOrDefault(jobId, new Steps(0, 0, 0, 0));
        }

        void awaitState(String jobId, String state, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!states.contains(jobId + " " + state) && System.nanoTime() < deadline && thread.isAlive()) {
                Thread.sleep(20);
            }
        }

        @Override
        public void close() throws IOException {
            closed = true;
            body.close();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
