package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.event.JobMessage;
import io.gradus.api.event.JobProgress;
import io.gradus.api.event.JobStateChanged;
import io.gradus.api.event.JobSteered;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.model.Model;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The job service")
class HostJobServiceTest {

    @TempDir
    Path dir;

    private TinyWorld world;

    @BeforeEach
    void world() throws IOException {
        world = new TinyWorld(dir);
    }

    private JobInfo submit(HostJobService jobs, String text, SubmitOptions options) {
        return jobs.submit(jobs.read(text, "job.yaml"), options);
    }

    private static SubmitOptions fresh(Path base) {
        return SubmitOptions.in(base.toString());
    }

    private static JobInfo await(HostJobService jobs, String id, JobState state) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            JobInfo job = jobs.job(id).orElseThrow();
            if (job.state() == state) {
                return job;
            }
            if (job.state().finished()) {
                throw new AssertionError("job " + id + " ended " + job.state() + ": " + job.message());
            }
            Thread.sleep(20);
        }
        throw new AssertionError("job " + id + " did not reach " + state + ": " + jobs.job(id).orElseThrow());
    }

    private static List<Double> losses(HostJobService jobs, String id) {
        return jobs.history(id).metrics().stream().filter(m -> m.containsKey("loss"))
                .map(m -> ((Number) m.get("loss")).doubleValue()).toList();
    }

    @Test
    @DisplayName("runs a submitted job to the end: state events, one progress event and one metrics line per step, a record on disk")
    void runsAJob() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo job = submit(jobs, world.job(6, "out"), fresh(dir));
            JobInfo done = await(jobs, job.id(), JobState.SUCCEEDED);
            // The record changes first, then its event goes out (on the job's thread): wait for the event too.
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (world.seen.stream().noneMatch(e -> e instanceof JobStateChanged s && s.jobId().equals(job.id())
                    && s.state().equals("SUCCEEDED")) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }

            assertThat(done.step()).isEqualTo(6);
            assertThat(done.result()).isEqualTo(dir.resolve("out/model").toString());
            assertThat(done.techniques()).extracting(t -> t.name() + " " + t.version()).containsExactly("full 1.0.0", "pretrain 1.0.0");
            assertThat(world.seen).filteredOn(e -> e instanceof JobStateChanged s && s.jobId().equals(job.id()))
                    .extracting(e -> ((JobStateChanged) e).state()).containsSubsequence("QUEUED", "RUNNING", "SUCCEEDED");
            assertThat(world.seen).filteredOn(e -> e instanceof JobProgress).hasSize(6);
            assertThat(losses(jobs, job.id())).hasSize(6);
            assertThat(jobs.history(job.id()).evals()).isNotEmpty();
            assertThat(dir.resolve("var/jobs/" + job.id() + ".json")).exists();
            assertThat(dir.resolve("out/job.log")).content().contains("held-out loss");
        }
    }

    @Test
    @DisplayName("a cancelled job checkpoints, and resumed it computes exactly what an uninterrupted run computes")
    void cancelAndResumeIsExact() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo straight = submit(jobs, world.job(12, "straight"), fresh(dir));
            await(jobs, straight.id(), JobState.SUCCEEDED);

            String[] id = {null};
            try (var cancelAtFive = world.events.subscribe(e -> {
                if (e instanceof JobProgress p && p.jobId().equals(id[0]) && p.step() == 5) {
                    jobs.cancel(p.jobId());
                }
            })) {
                id[0] = submit(jobs, world.job(12, "stopped"), fresh(dir)).id();
                JobInfo cancelled = await(jobs, id[0], JobState.CANCELLED);
                assertThat(cancelled.step()).isEqualTo(5);
            }
            jobs.resume(id[0]);
            await(jobs, id[0], JobState.SUCCEEDED);

            assertThat(losses(jobs, id[0])).as("no step twice, none missing, same values").isEqualTo(losses(jobs, straight.id()));
        }
    }

    @Test
    @DisplayName("a steered run resumed from a checkpoint before the change replays it at the same step: same loss curve")
    void steeringIsReplayed() throws Exception {
        Path image = dir.resolve("crash-image");
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            String[] id = {null};
            try (var steer = world.events.subscribe(e -> {
                if (e instanceof JobProgress p && p.jobId().equals(id[0])) {
                    if (p.step() == 6) {
                        jobs.steer(p.jobId(), Map.of("learningRate", 0.0015));
                    } else if (p.step() == 7) {
                        // What a kill right after step 7 leaves: the checkpoint of step 6, the steering record.
                        copy(dir.resolve("steered"), image);
                    }
                }
            })) {
                id[0] = submit(jobs, world.job(20, "steered"), fresh(dir)).id();
                await(jobs, id[0], JobState.SUCCEEDED);
            }
            assertThat(world.seen).filteredOn(e -> e instanceof JobSteered s && s.step() == 7).hasSize(1);
            List<Map<String, Object>> metrics = jobs.history(id[0]).metrics();
            assertThat(metrics).anySatisfy(m -> assertThat(m).containsEntry("step", 7).containsKey("steered"));
            assertThat(Files.readString(image.resolve("checkpoint/trainer_state.json"))).contains("\"step\" : 6");

            JobInfo resumed = submit(jobs, world.job(20, "crash-image"), new SubmitOptions(dir.toString(), true, false, false));
            await(jobs, resumed.id(), JobState.SUCCEEDED);
            assertThat(losses(jobs, resumed.id())).isEqualTo(losses(jobs, id[0]));
            List<Double> rates = jobs.history(resumed.id()).metrics().stream().filter(m -> m.containsKey("learningRate"))
                    .map(m -> ((Number) m.get("learningRate")).doubleValue()).toList();
            // Linear decay over the 18 steps after 2 of warm-up: step s (1-based) runs at peak·(1 − (s − 3)/18);
            // from step 7 on the peak is 0.0015 instead of 0.003.
            assertThat(rates.get(5)).isCloseTo(0.003 * (1 - 3.0 / 18), org.assertj.core.data.Offset.offset(1e-12));
            assertThat(rates.get(6)).isCloseTo(0.0015 * (1 - 4.0 / 18), org.assertj.core.data.Offset.offset(1e-12));
        }
    }

    @Test
    @DisplayName("output folders are protected: one job at a time, no silent overwrite, resume refuses changed settings by name")
    void outputFolderProtection() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo first = submit(jobs, world.job(8, "out"), fresh(dir));
            assertThatThrownBy(() -> submit(jobs, world.job(8, "out"), fresh(dir)))
                    .isInstanceOf(JobException.class).hasMessageContaining("already writes to").hasMessageContaining(first.id());
            await(jobs, first.id(), JobState.SUCCEEDED);

            assertThatThrownBy(() -> submit(jobs, world.job(8, "out"), fresh(dir)))
                    .hasMessageContaining("already holds a run").hasMessageContaining("--overwrite");
            assertThatThrownBy(() -> submit(jobs, world.job(8, "out").replace("batchSize: 4", "batchSize: 2")
                    .replace("learningRate: 0.003", "learningRate: 0.001"), new SubmitOptions(dir.toString(), true, false, false)))
                    .hasMessageContaining("hyper.batchSize 4 → 2").hasMessageContaining("hyper.learningRate 0.003 → 0.001")
                    .hasMessageContaining("--allow-changes");

            JobInfo again = submit(jobs, world.job(8, "out"), new SubmitOptions(dir.toString(), true, false, false));
            JobInfo finished = await(jobs, again.id(), JobState.SUCCEEDED);
            assertThat(finished.message()).contains("already finished");
            assertThat(losses(jobs, again.id())).hasSize(8);

            JobInfo changed = submit(jobs, world.job(10, "out").replace("learningRate: 0.003", "learningRate: 0.001"),
                    new SubmitOptions(dir.toString(), true, false, true));
            assertThat(await(jobs, changed.id(), JobState.SUCCEEDED).step()).as("resumed with the change allowed").isEqualTo(10);
            assertThat(losses(jobs, changed.id())).hasSize(10);

            assertThatThrownBy(() -> submit(jobs, world.job(8, "never"), new SubmitOptions(dir.toString(), true, false, false)))
                    .hasMessageContaining("no checkpoint");
            assertThat(dir.resolve("never")).as("no empty folder left behind").doesNotExist();

            Files.writeString(dir.resolve("a-file"), "x");
            assertThatThrownBy(() -> submit(jobs, world.job(8, "a-file"), fresh(dir))).hasMessageContaining("is a file");

            JobInfo over = submit(jobs, world.job(4, "out"), new SubmitOptions(dir.toString(), false, true, false));
            await(jobs, over.id(), JobState.SUCCEEDED);
            assertThat(Files.readAllLines(dir.resolve("out/metrics.jsonl"))).hasSize(4);
        }
    }

    @Test
    @DisplayName("a job running when its host stops is interrupted with a checkpoint, shown so after a restart, and resumes exactly")
    void survivesARestart() throws Exception {
        Path var = dir.resolve("var/jobs");
        String id;
        List<Double> expected;
        try (HostJobService jobs = world.service(var)) {
            JobInfo straight = submit(jobs, world.job(10, "straight"), fresh(dir));
            await(jobs, straight.id(), JobState.SUCCEEDED);
            expected = losses(jobs, straight.id());
            String[] running = {null};
            try (var stopHost = world.events.subscribe(e -> {
                if (e instanceof JobProgress p && p.jobId().equals(running[0]) && p.step() == 3) {
                    Thread.ofVirtual().start(jobs::close);
                }
            })) {
                running[0] = submit(jobs, world.job(10, "interrupted"), fresh(dir)).id();
                id = running[0];
                await(jobs, id, JobState.INTERRUPTED);
            }
        }
        try (HostJobService jobs = world.service(var)) {
            JobInfo after = jobs.job(id).orElseThrow();
            assertThat(after.state()).isEqualTo(JobState.INTERRUPTED);
            assertThat(jobs.jobs()).hasSize(2);
            jobs.resume(id);
            await(jobs, id, JobState.SUCCEEDED);
            assertThat(losses(jobs, id)).isEqualTo(expected);
        }
    }

    @Test
    @DisplayName("steering refuses what cannot change, and jobs that are not running")
    void steeringChecks() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            String[] id = {null};
            List<Throwable> refusals = new CopyOnWriteArrayList<>();
            try (var steer = world.events.subscribe(e -> {
                if (e instanceof JobProgress p && p.jobId().equals(id[0]) && p.step() == 1) {
                    for (Map<String, Object> bad : List.of(Map.<String, Object>of("batchSize", 2),
                            Map.<String, Object>of("learningRate", -1), Map.<String, Object>of("objective", Map.of("x", 1)))) {
                        try {
                            jobs.steer(p.jobId(), bad);
                        } catch (JobException refused) {
                            refusals.add(refused);
                        }
                    }
                }
            })) {
                id[0] = submit(jobs, world.job(3, "out"), fresh(dir)).id();
                await(jobs, id[0], JobState.SUCCEEDED);
            }
            assertThat(refusals).extracting(Throwable::getMessage).satisfiesExactly(
                    m -> assertThat(m).contains("'batchSize' cannot be steered"),
                    m -> assertThat(m).contains("learningRate must be a finite number >= 0"),
                    m -> assertThat(m).contains("this objective has no live settings"));
            assertThatThrownBy(() -> jobs.steer(id[0], Map.of("learningRate", 0.1)))
                    .hasMessageContaining("only a running job can be steered");
            assertThatThrownBy(() -> jobs.cancel(id[0])).hasMessageContaining("nothing to cancel");
            assertThatThrownBy(() -> jobs.job("nope").orElseThrow()).isInstanceOf(java.util.NoSuchElementException.class);
            assertThatThrownBy(() -> jobs.history("nope")).hasMessageContaining("no job with id nope");
        }
    }

    @Test
    @DisplayName("a learning rate of 0 and records that train on no text are warnings: the job runs, and its messages and job.log say so")
    void warnings() throws Exception {
        Files.writeString(dir.resolve("train.jsonl"), Files.readString(dir.resolve("train.jsonl")) + "{\"text\": \"\"}\n");
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo job = submit(jobs, world.job(3, "out").replace("learningRate: 0.003", "learningRate: 0"), fresh(dir));
            await(jobs, job.id(), JobState.SUCCEEDED);
            List<String> messages = world.seen.stream().filter(e -> e instanceof JobMessage m && m.jobId().equals(job.id()))
                    .map(e -> ((JobMessage) e).text()).toList();
            assertThat(messages).contains("warning: " + dir.resolve("train.jsonl") + ": 1 record trains on no text, only special"
                    + " tokens (an empty completion or answer?): line 101",
                    "warning: hyper.learningRate is 0: no weight will change (the loss is measured, nothing is learned)");
            assertThat(dir.resolve("out/job.log")).content().contains("line 101", "hyper.learningRate is 0");
            assertThat(messages).noneMatch(m -> m.contains(dir.resolve("eval.jsonl").toString()));
        }
    }

    @Test
    @DisplayName("held-out data shorter than one window (seqLen + 1 tokens) fails the job before its first step")
    void evalDataTooShort() throws Exception {
        Files.writeString(dir.resolve("eval.jsonl"), "{\"text\": \"the cat.\"}\n");
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo job = submit(jobs, world.job(50, "out"), fresh(dir));
            JobInfo failed = await(jobs, job.id(), JobState.FAILED);
            assertThat(failed.message()).startsWith(dir.resolve("eval.jsonl") + " has ")
                    .endsWith(" tokens, fewer than one window of 33 (hyper.seqLen + 1): add data or lower seqLen");
            assertThat(failed.step()).isZero();
            assertThat(world.seen).noneMatch(e -> e instanceof JobProgress p && p.jobId().equals(job.id()));
            assertThat(dir.resolve("out/metrics.jsonl")).doesNotExist();
        }
    }

    @Test
    @DisplayName("the job's seed reaches its tuner")
    void seedReachesTheTuner() throws Exception {
        List<Long> seeds = new CopyOnWriteArrayList<>();
        var full = TinyWorld.catalog().tuner("full", null).orElseThrow();
        Tuner<Object> recording = new Tuner<>() {
            @SuppressWarnings("unchecked")
            private final Tuner<Object> delegate = (Tuner<Object>) full.technique();

            @Override
            public Class<Object> configType() {
                return delegate.configType();
            }

            @Override
            public String description() {
                return delegate.description();
            }

            @Override
            public Tuning apply(Model model, Object config) {
                throw new AssertionError("the seeded apply is the one a job calls");
            }

            @Override
            public Tuning apply(Model model, Object config, long seed) {
                seeds.add(seed);
                return delegate.apply(model, config, seed);
            }
        };
        var catalog = new TechniqueCatalog() {
            @Override
            public List<TechniqueDescriptor> techniques() {
                return TinyWorld.catalog().techniques();
            }

            @Override
            public Optional<Found<Tuner<?>>> tuner(String name, String range) {
                return Optional.of(new Found<>(full.descriptor(), recording));
            }

            @Override
            public Optional<Found<Objective<?>>> objective(String name, String range) {
                return TinyWorld.catalog().objective(name, range);
            }
        };
        try (HostJobService jobs = new HostJobService(dir.resolve("var/jobs"), catalog, world.events, () -> world.kernels,
                world.model, 1)) {
            await(jobs, submit(jobs, world.job(1, "seven") + "seed: 7\n", fresh(dir)).id(), JobState.SUCCEEDED);
            await(jobs, submit(jobs, world.job(1, "default"), fresh(dir)).id(), JobState.SUCCEEDED);
        }
        assertThat(seeds).containsExactly(7L, 42L);
    }

    @Test
    @DisplayName("a job naming a technique that is not installed is refused at submission, listing what is installed")
    void missingTechnique() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            assertThatThrownBy(() -> submit(jobs, world.job(3, "out").replace("name: full", "name: lora"), fresh(dir)))
                    .hasMessageContaining("no tuner 'lora' is installed; installed tuners: full 1.0.0");
            assertThat(jobs.jobs()).isEmpty();
        }
    }

    private static void copy(Path from, Path to) {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
