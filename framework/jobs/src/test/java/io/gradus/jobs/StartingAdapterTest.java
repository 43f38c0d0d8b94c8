package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.job.JobException;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.plugin.dpo.DpoTechnique;
import io.gradus.plugin.lora.internal.LoraTechnique;
import io.gradus.plugin.qlora.QloraTechnique;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Jobs that start from a saved adapter")
class StartingAdapterTest {

    @TempDir
    Path dir;

    private TinyWorld world;

    @BeforeEach
    void world() throws IOException {
        world = new TinyWorld(dir);
    }

    /** full and pretrain, and lora, qlora and dpo as bundles 9 to 11 would register them. */
    static TechniqueCatalog catalog() {
        LoraTechnique lora = new LoraTechnique();
        return TinyWorld.catalog(List.of(
                new TechniqueCatalog.Found<>(new TechniqueDescriptor("lora", TechniqueFamily.TUNER, "0.2.0", "lora", 9,
                        "io.gradus.plugin.lora"), lora),
                new TechniqueCatalog.Found<>(new TechniqueDescriptor("qlora", TechniqueFamily.TUNER, "0.1.0", "qlora", 10,
                        "io.gradus.plugin.qlora"), new QloraTechnique(lora)),
                new TechniqueCatalog.Found<>(new TechniqueDescriptor("dpo", TechniqueFamily.OBJECTIVE, "0.1.0", "dpo", 11,
                        "io.gradus.plugin.dpo"), new DpoTechnique())));
    }

    /** A pre-training job of {@code steps} steps at {@code learningRate}, its tuner and adapter lines as given. */
    private static String job(String tuner, String adapter, int steps, double learningRate, String output) {
        return """
                name: tiny
                model: base
                %s
                %s
                objective: {name: pretrain}
                data: {train: train.jsonl}
                hyper: {steps: %d, batchSize: 4, seqLen: 32, learningRate: %s, warmupSteps: 0, schedule: constant}
                output: %s
                """.formatted(tuner == null ? "" : "tuner: " + tuner, adapter == null ? "" : "adapter: " + adapter, steps,
                learningRate, output);
    }

    private JobInfo run(HostJobService jobs, String text) throws InterruptedException {
        JobInfo job = TinyWorld.awaitEnd(jobs, jobs.submit(jobs.read(text, "job.yaml"), SubmitOptions.in(dir.toString())).id());
        assertThat(job.state()).as(job.message()).isEqualTo(JobState.SUCCEEDED);
        return job;
    }

    @Test
    @DisplayName("the adapter's tuner and settings become the job's, its weights are the start: at a rate of 0 the saved adapter is unchanged")
    void trainsASavedAdapterFurther() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), catalog())) {
            JobInfo first = run(jobs, job("{name: lora, config: {r: 4, loraAlpha: 8, targetModules: [q_proj, v_proj]}}", null,
                    4, 0.01, "first"));
            JobInfo further = run(jobs, job(null, "first/adapter", 3, 0.0, "further"));

            assertThat(further.spec().adapter()).isEqualTo(dir.resolve("first/adapter").toString());
            assertThat(further.spec().tuner().name()).isEqualTo("lora");
            assertThat(further.spec().tuner().config()).containsEntry("r", 4).containsEntry("loraAlpha", 8.0)
                    .containsEntry("targetModules", List.of("q_proj", "v_proj"));
            var before = new SafetensorsFiles().read(Path.of(first.result()).resolve("adapter_model.safetensors"));
            var after = new SafetensorsFiles().read(Path.of(further.result()).resolve("adapter_model.safetensors"));
            assertThat(after.keySet()).containsExactlyElementsOf(before.keySet());
            before.forEach((name, tensor) -> assertThat(after.get(name).values()).as(name).containsExactly(tensor.values()));
            assertThat(before.values().stream().anyMatch(t -> {
                for (float v : t.values()) {
                    if (v != 0 && t.name().contains("lora_B")) {
                        return true;
                    }
                }
                return false;
            })).as("the first job trained B away from 0").isTrue();
            assertThat(Files.readString(dir.resolve("further/provenance.json"))).contains("\"adapter\"")
                    .contains("\"adapter_sha256\"");

            // Trained further at a real rate, the start is still the saved adapter: its first loss is the
            // first job's model's, not a fresh adapter's.
            JobInfo trained = run(jobs, job("{name: lora, config: {r: 4}}", "first/adapter", 2, 0.01, "trained"));
            JobInfo fresh = run(jobs, job("{name: lora, config: {r: 4, loraAlpha: 8, targetModules: [q_proj, v_proj]}}", null,
                    2, 0.01, "fresh"));
            assertThat(firstLoss(jobs, trained)).isEqualTo(firstLoss(jobs, further))
                    .isNotEqualTo(firstLoss(jobs, fresh));
        }
    }

    private static double firstLoss(HostJobService jobs, JobInfo job) {
        return jobs.history(job.id()).metrics().stream().filter(m -> m.containsKey("loss"))
                .map(m -> ((Number) m.get("loss")).doubleValue()).findFirst().orElseThrow();
    }

    @Test
    @DisplayName("a tuner that disagrees with the adapter is refused at submission, naming each setting and both values")
    void disagreeingTunerIsRefused() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), catalog())) {
            run(jobs, job("{name: lora, config: {r: 4, loraAlpha: 8}}", null, 2, 0.01, "first"));
            assertThatThrownBy(() -> jobs.submit(jobs.read(job("{name: lora, config: {r: 8, loraAlpha: 8.0, loraDropout: 0.1}}",
                    "first/adapter", 2, 0.01, "second"), "job.yaml"), SubmitOptions.in(dir.toString())))
                    .isInstanceOf(JobException.class)
                    .hasMessageContaining("tuner 'lora' does not agree with the adapter " + dir.resolve("first/adapter"))
                    .hasMessageContaining("loraDropout is 0.1 in the job, 0.0 in the adapter")
                    .hasMessageContaining("r is 8 in the job, 4 in the adapter")
                    .hasMessageNotContaining("loraAlpha");
            assertThatThrownBy(() -> jobs.submit(jobs.read(job("{name: full}", "first/adapter", 2, 0.01, "second"), "job.yaml"),
                    SubmitOptions.in(dir.toString())))
                    .hasMessageContaining("the job's tuner 'full' does not agree with the adapter")
                    .hasMessageContaining("the adapter is a 'lora' adapter");
            // QLoRA composes LoRA: its lora settings must agree, and the adapter's fill in the rest.
            assertThatThrownBy(() -> jobs.submit(jobs.read(job("{name: qlora, config: {lora: {r: 2}}}", "first/adapter", 2,
                    0.01, "second"), "job.yaml"), SubmitOptions.in(dir.toString())))
                    .hasMessageContaining("tuner 'qlora' lora does not agree with the adapter")
                    .hasMessageContaining("r is 2 in the job, 4 in the adapter");
            JobInfo qlora = run(jobs, job("{name: qlora, config: {blockSize: 32, lora: {r: 4}}}", "first/adapter", 2, 0.01,
                    "qlora"));
            assertThat(qlora.spec().tuner().config()).containsEntry("blockSize", 32);
            assertThat(qlora.spec().tuner().config().get("lora")).asInstanceOf(
                    org.assertj.core.api.InstanceOfAssertFactories.MAP).containsEntry("r", 4).containsEntry("loraAlpha", 8.0);
            assertThatThrownBy(() -> jobs.submit(jobs.read(job(null, "missing", 2, 0.01, "second"), "job.yaml"),
                    SubmitOptions.in(dir.toString())))
                    .hasMessageContaining(dir.resolve("missing") + " is not an adapter folder: it has no adapter_config.json");
        }
    }

    @Test
    @DisplayName("resuming with another adapter is refused by name")
    void resumeWithAnotherAdapter() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), catalog())) {
            run(jobs, job("{name: lora, config: {r: 4}}", null, 2, 0.01, "a"));
            run(jobs, job("{name: lora, config: {r: 4}}", null, 2, 0.02, "b"));
            run(jobs, job(null, "a/adapter", 2, 0.01, "c"));
            assertThatThrownBy(() -> jobs.submit(jobs.read(job(null, "b/adapter", 4, 0.01, "c"), "job.yaml"),
                    new SubmitOptions(dir.toString(), true, false, false)))
                    .hasMessageContaining("adapter " + dir.resolve("a/adapter") + " → " + dir.resolve("b/adapter"));
        }
    }
}
