package io.gradus.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final LlamaConfig CONFIG = new LlamaConfig(16, 16, 32, 2, 4, 2, 4, 1e-5, 10000.0, 64, false, 1, 2);

    /** Plain next-token cross-entropy, the simplest objective (the pretrain bundle's, without OSGi). */
    static final class NextToken implements Objective<Void> {
        @Override
        public Class<Void> configType() {
            return Void.class;
        }

        @Override
        public String description() {
            return "test objective";
        }

        @Override
        public StepResult step(Void config, TokenBatch batch, ModelRunner runner, float gradScale) {
            float[] logits = runner.forward(batch);
            int n = batch.countLabels();
            float[] d = new float[logits.length];
            double sum = runner.kernels().crossEntropy(logits, batch.batchSize() * batch.seqLen(), runner.vocabSize(),
                    batch.labels(), d, gradScale / n);
            runner.backward(d);
            return new StepResult(sum / n, n, Map.of());
        }

        @Override
        public Example encode(Void config, Map<String, Object> record, TextTokenizer tokenizer) {
            return Example.allTargets(tokenizer.encode((String) record.get("text")));
        }
    }

    /** A stream with structure to learn: a repeating sentence of 12 tokens. */
    private static int[] corpus() {
        int[] sentence = {1, 5, 9, 3, 12, 7, 7, 4, 10, 15, 6, 2};
        int[] tokens = new int[600];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = sentence[i % sentence.length];
        }
        return tokens;
    }

    private static Hyperparameters hyper(int steps, int batch, int accumulation, String schedule) {
        return new Hyperparameters(steps, batch, 16, accumulation, 1e-2, 2, schedule, 0.01, null, null, null, 1.0, null);
    }

    private record Run(LlamaModel model, Trainer<Void> trainer, List<Trainer.StepMetrics> metrics) {}

    private static Run newRun(Hyperparameters hyper) {
        LlamaModel model = LlamaModel.initialize(CONFIG, 11);
        model.parameters().forEach(p -> p.setTrainable(true));
        var trainer = new Trainer<>(new LlamaEngine(model, KERNELS), model.parameters(), new NextToken(), null,
                new PackedTokens(corpus(), hyper.batchSize(), hyper.seqLen()), hyper);
        return new Run(model, trainer, new ArrayList<>());
    }

    @Test
    @DisplayName("training a tiny Llama on a repeating sentence drives the loss far below its start")
    void lossFalls() {
        Run run = newRun(hyper(100, 4, 1, "cosine"));
        run.trainer().run(100, run.metrics()::add);

        double first = run.metrics().getFirst().loss();
        double last = run.metrics().getLast().loss();
        assertThat(first).isCloseTo(Math.log(16), within(0.3));
        assertThat(last).as("loss after 100 steps (first %.3f)", first).isLessThan(0.25 * first);
        assertThat(run.metrics().getLast().learningRate()).as("cosine ends at 0").isCloseTo(0, within(1e-4));
        assertThat(run.metrics()).allSatisfy(m -> assertThat(m.tokensPerSecond()).isPositive());
    }

    @Test
    @DisplayName("a run resumed from a checkpoint continues exactly like the uninterrupted run")
    void resumeIsExact(@TempDir Path dir) throws Exception {
        Hyperparameters hyper = hyper(8, 2, 2, "linear");
        Run straight = newRun(hyper);
        straight.trainer().run(8, straight.metrics()::add);

        Run first = checkpointed(hyper, 4, dir.resolve("checkpoint"));
        Run resumed = newRun(hyper); // a fresh model and trainer, as after a restart
        resumed.trainer().resume(dir.resolve("checkpoint"));
        assertThat(resumed.trainer().step()).isEqualTo(4);
        resumed.trainer().run(8, resumed.metrics()::add);

        List<Double> uninterrupted = straight.metrics().stream().map(Trainer.StepMetrics::loss).toList();
        List<Double> stitched = new ArrayList<>(first.metrics().stream().map(Trainer.StepMetrics::loss).toList());
        resumed.metrics().forEach(m -> stitched.add(m.loss()));
        assertThat(stitched).containsExactlyElementsOf(uninterrupted);
        for (int i = 0; i < straight.model().parameters().size(); i++) {
            assertThat(resumed.model().parameters().get(i).values())
                    .containsExactly(straight.model().parameters().get(i).values());
        }
    }

    @Test
    @DisplayName("a checkpoint of Gradus 0.1 (data in file order) is refused, naming its state file")
    void fileOrderCheckpointRefused(@TempDir Path dir) throws Exception {
        Hyperparameters hyper = hyper(8, 2, 2, "linear");
        Path checkpoint = dir.resolve("checkpoint");
        checkpointed(hyper, 2, checkpoint);
        Path state = checkpoint.resolve("trainer_state.json");
        // 0.1 wrote the same state with its position under another name and meaning
        Files.writeString(state, Files.readString(state).replace("\"data_taken\"", "\"data_position\""));

        Run resumed = newRun(hyper);
        assertThatThrownBy(() -> resumed.trainer().resume(checkpoint))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(state.toString())
                .hasMessageContaining("Gradus 0.1")
                .hasMessageContaining("--overwrite");
    }

    /** A new run trained for {@code steps} steps, its checkpoint written to {@code checkpoint}. */
    private static Run checkpointed(Hyperparameters hyper, int steps, Path checkpoint) throws IOException {
        Run run = newRun(hyper);
        run.trainer().run(steps, run.metrics()::add);
        run.trainer().saveCheckpoint(checkpoint);
        return run;
    }

    @Test
    @DisplayName("two accumulated micro-batches of B rows give the update of one batch of 2B rows")
    void gradientAccumulation() {
        Run accumulated = newRun(hyper(1, 2, 2, "constant"));
        Run whole = newRun(hyper(1, 4, 1, "constant"));
        accumulated.trainer().run(1, accumulated.metrics()::add);
        whole.trainer().run(1, whole.metrics()::add);

        assertThat(accumulated.metrics().getFirst().loss()).isCloseTo(whole.metrics().getFirst().loss(), within(1e-6));
        assertThat(accumulated.metrics().getFirst().gradNorm()).isCloseTo(whole.metrics().getFirst().gradNorm(), within(1e-5));
        for (int i = 0; i < whole.model().parameters().size(); i++) {
            Parameter a = accumulated.model().parameters().get(i);
            Parameter b = whole.model().parameters().get(i);
            for (int j = 0; j < a.size(); j++) {
                assertThat(a.values()[j]).as(a.name()).isCloseTo(b.values()[j], within(1e-5f));
            }
        }
    }
}
