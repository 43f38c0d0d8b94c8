package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.api.event.JobProgress;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.BpeTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("DPO jobs in the job service")
class DpoJobTest {

    @TempDir
    Path dir;

    private TinyWorld world;

    @BeforeEach
    void world() throws IOException {
        world = new TinyWorld(dir);
        Files.writeString(dir.resolve("pairs.jsonl"), """
                {"prompt": "the cat", "chosen": " sat on a mat.", "rejected": " ran to the park.", "ref_chosen_logps": -20.0, "ref_rejected_logps": -25.0}
                {"prompt": "the dog", "chosen": " ran to the park.", "rejected": " sat on the cat.", "ref_chosen_logps": -22.5, "ref_rejected_logps": -19.0}
                {"prompt": "a cat", "chosen": " and a dog.", "rejected": " the.", "ref_chosen_logps": -12.0, "ref_rejected_logps": -8.0}
                """);
    }

    private static String job(String objective, String data, double learningRate, int steps) {
        return """
                name: dpo
                model: base
                tuner: {name: lora, config: {r: 4}}
                objective: %s
                data: {train: %s}
                hyper: {steps: %d, batchSize: 3, seqLen: 32, learningRate: %s, warmupSteps: 0, schedule: constant}
                output: out
                """.formatted(objective, data, steps, learningRate);
    }

    private JobInfo submit(HostJobService jobs, String text) {
        return jobs.submit(jobs.read(text, "job.yaml"), SubmitOptions.in(dir.toString()));
    }

    @Test
    @DisplayName("β is steered while the job runs: from the next step the rewards scale by the new β over the old")
    void betaIsSteered() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), StartingAdapterTest.catalog())) {
            String[] id = {null};
            try (var steer = world.events.subscribe(e -> {
                if (e instanceof JobProgress p && p.jobId().equals(id[0]) && p.step() == 3) {
                    jobs.steer(p.jobId(), Map.of("objective", Map.of("beta", 0.5)));
                }
            })) {
                // A rate of 0 and the same three pairs every step: only β changes what a step reports.
                id[0] = submit(jobs, job("{name: dpo, config: {beta: 0.1}}", "pairs.jsonl", 0.0, 8)).id();
                JobInfo done = TinyWorld.awaitEnd(jobs, id[0]);
                assertThat(done.state()).as(done.message()).isEqualTo(JobState.SUCCEEDED);
            }
            List<Map<String, Object>> lines = jobs.history(id[0]).metrics();
            long steeredAt = lines.stream().filter(m -> m.containsKey("steered"))
                    .mapToLong(m -> ((Number) m.get("step")).longValue()).findFirst().orElseThrow();
            List<Double> chosen = new ArrayList<>();
            for (Map<String, Object> m : lines) {
                if (m.get("metrics") instanceof Map<?, ?> metrics) {
                    chosen.add(((Number) metrics.get("rewards/chosen")).doubleValue());
                    assertThat(metrics.keySet()).map(String::valueOf).contains("rewards/rejected", "rewards/accuracies", "rewards/margins",
                            "logps/chosen", "logps/rejected", "logits/chosen", "logits/rejected");
                }
            }
            assertThat(chosen).hasSize(8);
            assertThat(chosen.getFirst()).isNotZero();
            for (int step = 1; step <= 8; step++) {
                double factor = step >= steeredAt ? 5 : 1;
                assertThat(chosen.get(step - 1)).as("step %d", step).isCloseTo(factor * chosen.getFirst(),
                        within(1e-9 * Math.abs(chosen.getFirst())));
            }
            assertThat(steeredAt).isBetween(4L, 8L);
        }
    }

    @Test
    @DisplayName("from a saved adapter, cancelled and resumed, a DPO job computes exactly what an uninterrupted one does")
    void cancelAndResumeIsExact() throws Exception {
        // No reference values in the records: the reference is the starting adapter, a snapshot that each
        // checkpoint carries; the training pairs' log-probabilities are precomputed into the session's state,
        // and the held-out ones are computed again after the resume, from the snapshot read back.
        Files.writeString(dir.resolve("plain.jsonl"), """
                {"prompt": "the cat", "chosen": " sat on a mat.", "rejected": " ran to the park."}
                {"prompt": "the dog", "chosen": " ran to the park.", "rejected": " sat on the cat."}
                {"prompt": "a cat", "chosen": " and a dog.", "rejected": " the."}
                {"prompt": "the mat", "chosen": " on the dog.", "rejected": " a cat sat."}
                {"prompt": "a dog", "chosen": " sat.", "rejected": " ran on the mat and the park."}
                """);
        Files.writeString(dir.resolve("held.jsonl"), """
                {"prompt": "the park", "chosen": " and the cat.", "rejected": " sat on a dog."}
                {"prompt": "a mat", "chosen": " ran.", "rejected": " the dog."}
                """);
        String dpo = """
                name: dpo
                model: base
                adapter: start/adapter
                objective: {name: dpo, config: {beta: 0.2, precomputeReferenceLogps: true}}
                data: {train: plain.jsonl, eval: held.jsonl}
                hyper: {steps: 10, batchSize: 2, seqLen: 32, learningRate: 0.01, warmupSteps: 2, schedule: cosine}
                output: %s
                """;
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), StartingAdapterTest.catalog())) {
            JobInfo start = TinyWorld.awaitEnd(jobs, submit(jobs, job("{name: dpo}", "plain.jsonl", 0.01, 3)
                    .replace("output: out", "output: start")).id());
            assertThat(start.state()).as(start.message()).isEqualTo(JobState.SUCCEEDED);
            JobInfo straight = TinyWorld.awaitEnd(jobs, submit(jobs, dpo.formatted("straight")).id());
            assertThat(straight.state()).as(straight.message()).isEqualTo(JobState.SUCCEEDED);

            String[] id = {null};
            try (var cancelAtFour = world.events.subscribe(e -> {
                if (e instanceof JobProgress p && p.jobId().equals(id[0]) && p.step() == 4) {
                    jobs.cancel(p.jobId());
                }
            })) {
                id[0] = submit(jobs, dpo.formatted("stopped")).id();
                JobInfo cancelled = TinyWorld.awaitEnd(jobs, id[0]);
                assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
                assertThat(cancelled.step()).isEqualTo(4);
            }
            jobs.resume(id[0]);
            JobInfo resumed = TinyWorld.awaitEnd(jobs, id[0]);
            assertThat(resumed.state()).as(resumed.message()).isEqualTo(JobState.SUCCEEDED);

            assertThat(stepMetrics(jobs, id[0])).as("every step's loss and TRL metrics, none twice, none missing")
                    .hasSize(10).isEqualTo(stepMetrics(jobs, straight.id()));
            assertThat(jobs.history(id[0]).evals().getLast()).as("held-out metrics at the last step")
                    .isEqualTo(jobs.history(straight.id()).evals().getLast());
            assertThat(Files.readAllBytes(Path.of(resumed.result()).resolve("adapter_model.safetensors")))
                    .isEqualTo(Files.readAllBytes(Path.of(straight.result()).resolve("adapter_model.safetensors")));
        }
    }

    /** Per step, the loss and the objective's metrics a job recorded. */
    private static List<Object> stepMetrics(HostJobService jobs, String id) {
        return jobs.history(id).metrics().stream().filter(m -> m.containsKey("loss"))
                .map(m -> List.of(m.get("step"), m.get("loss"), m.get("metrics"))).map(Object.class::cast).toList();
    }

    @Test
    @DisplayName("a reference folder with another vocabulary or architecture fails the job before step 1, naming the folder")
    void referenceFolderMustMatch() throws Exception {
        Path other = dir.resolve("other");
        BpeTrainer.Trained tokenizer = BpeTrainer.train(List.of("a tree grew by the river bank.", "birds sang in the tree."),
                300);
        BpeTrainer.write(tokenizer, other);
        LlamaModel.initialize(new LlamaConfig(tokenizer.size(), 32, 64, 2, 4, 2, 8, 1e-5, 10000.0, 128, false,
                tokenizer.specialId(BpeTrainer.BOS), tokenizer.specialId(BpeTrainer.EOS)), 1).save(other);
        Path wider = dir.resolve("wider");
        Files.createDirectories(wider);
        LlamaConfig base = LlamaModel.load(world.model).config();
        LlamaModel.initialize(new LlamaConfig(base.vocabSize(), 48, 64, 2, 4, 2, 12, 1e-5, 10000.0, 128, false,
                base.bosTokenId(), base.eosTokenId()), 1).save(wider);
        Files.copy(world.model.resolve("tokenizer.json"), wider.resolve("tokenizer.json"));

        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), StartingAdapterTest.catalog())) {
            JobInfo vocabulary = TinyWorld.awaitEnd(jobs,
                    submit(jobs, job("{name: dpo, config: {reference: other}}", "pairs.jsonl", 0.01, 2)).id());
            assertThat(vocabulary.state()).isEqualTo(JobState.FAILED);
            assertThat(vocabulary.message()).contains("the model other (" + other + ") has another vocabulary than the job's "
                    + "model " + world.model + ": token '");
            assertThat(dir.resolve("out/metrics.jsonl")).satisfiesAnyOf(f -> assertThat(f).doesNotExist(),
                    f -> assertThat(f).isEmptyFile());

            JobInfo architecture = TinyWorld.awaitEnd(jobs,
                    submit(jobs, job("{name: dpo, config: {reference: wider}}", "pairs.jsonl", 0.01, 2)).id());
            assertThat(architecture.state()).isEqualTo(JobState.FAILED);
            assertThat(architecture.message()).contains("the reference model wider is not built as the policy: it has hidden "
                    + "size 48, the policy's 32");
        }
    }

    @Test
    @DisplayName("bad pairs fail the job before any step, naming the file, the line and the field")
    void badPairs() throws Exception {
        Files.writeString(dir.resolve("bad.jsonl"), """
                {"prompt": "the cat", "chosen": " sat on a mat.", "rejected": " ran to the park."}
                {"prompt": "the dog", "chosen": " ran.", "rejected": " ran."}
                """);
        // An empty text completion scores its EOS (a warning, as for SFT); empty token ids leave nothing to score.
        Files.writeString(dir.resolve("empty.jsonl"), """
                {"prompt_input_ids": [5, 6], "chosen_input_ids": [], "rejected_input_ids": [7, 8]}
                """);
        Files.writeString(dir.resolve("missing.jsonl"), """
                {"prompt": "the cat", "chosen": " sat on a mat.", "rejected": " ran."}
                {"prompt": "the cat", "chosen": " sat on a mat."}
                """);
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), StartingAdapterTest.catalog())) {
            for (String[] bad : new String[][] {
                    {"bad.jsonl", ":2: \"chosen\" and \"rejected\" are identical"},
                    {"empty.jsonl", ":1: the chosen completion has no token to score"},
                    {"missing.jsonl", ":2: \"rejected\" is missing"}}) {
                JobInfo job = TinyWorld.awaitEnd(jobs, submit(jobs, job("{name: dpo}", bad[0], 0.01, 2)).id());
                assertThat(job.state()).isEqualTo(JobState.FAILED);
                assertThat(job.message()).contains(dir.resolve(bad[0]) + bad[1]);
                assertThat(job.step()).isZero();
            }
        }
    }
}
