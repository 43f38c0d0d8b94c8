package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.event.JobProgress;
import io.gradus.api.event.JobSteered;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.model.Model;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Live;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.plugin.full.FullConfig;
import io.gradus.plugin.full.FullTechnique;
import io.gradus.plugin.pretrain.PretrainTechnique;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The job service at its edges: stopping, preparing, live settings, torn files")
class JobServiceEdgesTest {

    @TempDir
    Path dir;

    private TinyWorld world;

    @BeforeEach
    void world() throws Exception {
        world = new TinyWorld(dir);
    }

    private static JobInfo submit(HostJobService jobs, String yaml, SubmitOptions options) {
        return jobs.submit(jobs.read(yaml, "job.yaml"), options);
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    @DisplayName("a host that stops interrupts its running job and starts none of the queued ones; after a restart they show interrupted")
    void closingStartsNothing() throws Exception {
        Path var = dir.resolve("var/jobs");
        String running;
        String queued;
        try (HostJobService jobs = world.service(var)) {
            running = submit(jobs, world.job(400, "a"), SubmitOptions.in(dir.toString())).id();
            queued = submit(jobs, world.job(4, "b"), SubmitOptions.in(dir.toString())).id();
            await("the first job trains", () -> jobs.job(running).orElseThrow().step() >= 2);
            jobs.close();
            assertThat(jobs.job(running).orElseThrow().state()).isEqualTo(JobState.INTERRUPTED);
            assertThat(jobs.job(queued).orElseThrow().state()).isEqualTo(JobState.QUEUED);
            assertThat(dir.resolve("b")).as("the queued job never started").doesNotExist();
            assertThatThrownBy(() -> submit(jobs, world.job(4, "c"), SubmitOptions.in(dir.toString())))
                    .isInstanceOf(JobException.class).hasMessageContaining("the host is stopping");
        }
        try (HostJobService jobs = world.service(var)) {
            assertThat(jobs.job(queued).orElseThrow().state()).isEqualTo(JobState.INTERRUPTED);
        }
    }

    /** The full tuner, held at its apply until the test opens the gate: a job stuck preparing. */
    private static final class GatedTuner implements Tuner<FullConfig> {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        private final FullTechnique full = new FullTechnique();

        @Override
        public Class<FullConfig> configType() {
            return FullConfig.class;
        }

        @Override
        public String description() {
            return "full, after a gate";
        }

        @Override
        public Tuning apply(Model model, FullConfig config) {
            entered.countDown();
            try {
                gate.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return full.apply(model, config);
        }
    }

    @Test
    @DisplayName("a preparing job already pins its bundles, and cancelled then it stops before training, leaving an earlier run untouched")
    void preparingJobs() throws Exception {
        GatedTuner tuner = new GatedTuner();
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), TinyWorld.catalog(tuner, new PretrainTechnique()))) {
            tuner.gate.countDown();
            JobInfo earlier = submit(jobs, world.job(4, "out"), SubmitOptions.in(dir.toString()));
            await("the earlier run finishes", () -> jobs.job(earlier.id()).orElseThrow().state() == JobState.SUCCEEDED);
            String metricsBefore = Files.readString(dir.resolve("out/metrics.jsonl"));

            GatedTuner held = new GatedTuner();
            try (HostJobService gated = world.service(dir.resolve("var2/jobs"), TinyWorld.catalog(held, new PretrainTechnique()))) {
                JobInfo job = submit(gated, world.job(4, "out"), new SubmitOptions(dir.toString(), false, true, false));
                assertThat(held.entered.await(60, TimeUnit.SECONDS)).isTrue();
                assertThat(gated.job(job.id()).orElseThrow().message()).isEqualTo("preparing");
                assertThat(gated.holders(7)).as("pinned while preparing").containsExactly("job " + job.id() + " (tiny)");
                assertThat(gated.holders(8)).hasSize(1);

                gated.cancel(job.id());
                held.gate.countDown();
                await("the job stops", () -> gated.job(job.id()).orElseThrow().state() == JobState.CANCELLED);
                assertThat(Files.readString(dir.resolve("out/metrics.jsonl"))).as("the earlier run is untouched")
                        .isEqualTo(metricsBefore);
                assertThat(Files.readString(dir.resolve("out/job.log"))).contains("stopped before training began");
            }
        }
    }

    /** Pre-training whose loss gradient is scaled by a live setting. */
    record WeightedConfig(@Live Double weight) {
        WeightedConfig {
            weight = weight == null ? 1.0 : weight;
            if (!(weight >= 0)) {
                throw new IllegalArgumentException("weight must be >= 0, was " + weight);
            }
        }
    }

    private static final class WeightedPretrain implements Objective<WeightedConfig> {
        private final PretrainTechnique pretrain = new PretrainTechnique();

        @Override
        public Class<WeightedConfig> configType() {
            return WeightedConfig.class;
        }

        @Override
        public String description() {
            return "pre-training with a weight";
        }

        @Override
        public StepResult step(WeightedConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
            return NextTokenLoss.step(batch, runner, gradScale * config.weight().floatValue());
        }

        @Override
        public Example encode(WeightedConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
            return pretrain.encode(new io.gradus.plugin.pretrain.PretrainConfig(), record, tokenizer);
        }
    }

    @Test
    @DisplayName("a live objective setting is steered: a value the record refuses is refused at once, a good one applies from the next step")
    void liveSettings() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), TinyWorld.catalog(new FullTechnique(), new WeightedPretrain()))) {
            String[] id = {null};
            List<Throwable> refused = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (var steer = world.events.subscribe(e -> {
                if (e instanceof JobProgress p && p.jobId().equals(id[0]) && p.step() == 2) {
                    try {
                        jobs.steer(p.jobId(), Map.of("objective", Map.of("weight", -1)));
                    } catch (JobException bad) {
                        refused.add(bad);
                    }
                    jobs.steer(p.jobId(), Map.of("objective", Map.of("weight", 0.0)));
                }
            })) {
                id[0] = submit(jobs, world.job(6, "out"), SubmitOptions.in(dir.toString())).id();
                await("the job ends", () -> jobs.job(id[0]).orElseThrow().state().finished());
            }
            assertThat(jobs.job(id[0]).orElseThrow().state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(refused).singleElement().satisfies(e -> assertThat(e).hasMessageContaining("weight must be >= 0"));
            assertThat(world.seen).filteredOn(e -> e instanceof JobSteered s && s.step() == 3).hasSize(1);
            List<Double> norms = jobs.history(id[0]).metrics().stream().filter(m -> m.containsKey("gradNorm"))
                    .map(m -> ((Number) m.get("gradNorm")).doubleValue()).toList();
            assertThat(norms.subList(0, 2)).allSatisfy(n -> assertThat(n).isPositive());
            assertThat(norms.subList(2, 6)).as("weight 0 from step 3: no gradient").allSatisfy(n -> assertThat(n).isZero());
        }
    }

    @Test
    @DisplayName("a job without an output writes next to its job file; a base folder must be an absolute path")
    void defaultOutput() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            String yaml = world.job(2, "unused").replace("output: unused\n", "");
            JobInfo job = submit(jobs, yaml, SubmitOptions.in(dir.toString()));
            assertThat(job.output()).isEqualTo(dir.resolve("runs/tiny").toString());
            await("it ends", () -> jobs.job(job.id()).orElseThrow().state().finished());
            assertThat(dir.resolve("runs/tiny/model/config.json")).exists();
            assertThatThrownBy(() -> submit(jobs, yaml, SubmitOptions.in("relative/dir")))
                    .hasMessageContaining("must be an absolute path");
        }
    }

    @Test
    @DisplayName("a metrics line torn by a kill is skipped by the history and dropped by resume")
    void tornMetricsLine() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo first = submit(jobs, world.job(10, "out"), SubmitOptions.in(dir.toString()));
            await("it ends", () -> jobs.job(first.id()).orElseThrow().state().finished());
            Files.writeString(dir.resolve("out/metrics.jsonl"), "{\"step\": 11, \"lo", java.nio.file.StandardOpenOption.APPEND);
            assertThat(jobs.history(first.id()).metrics()).hasSize(10);

            JobInfo more = submit(jobs, world.job(12, "out"), new SubmitOptions(dir.toString(), true, false, false));
            await("it ends", () -> jobs.job(more.id()).orElseThrow().state().finished());
            assertThat(jobs.job(more.id()).orElseThrow().state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(jobs.history(more.id()).metrics()).extracting(m -> ((Number) m.get("step")).intValue())
                    .containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        }
    }
}
