package io.gradus.plugin.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.StepResult;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.testkit.GradientCheck;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PretrainTechniqueTest {

    private static final int VOCAB = 6;
    private final PretrainTechnique objective = new PretrainTechnique();
    private final CpuKernelBackend kernels = new CpuKernelBackend();

    @Test
    @DisplayName("an untrained model scores log(V) per token, the uniform-guess loss")
    void untrainedLossIsLogV() {
        BigramRunner model = new BigramRunner(VOCAB, kernels);
        TokenBatch batch = TokenBatch.nextToken(2, 5, new int[] {0, 1, 2, 3, 4, 5, 4, 3, 2, 1});

        StepResult result = objective.step(new PretrainConfig(), batch, model, 1f);

        assertThat(result.tokens()).isEqualTo(8); // 2 rows x 4 next-token targets
        assertThat(result.loss()).isCloseTo(Math.log(VOCAB), within(1e-6));
        assertThat(result.metrics().get("perplexity")).isCloseTo(VOCAB, within(1e-4));
    }

    @Test
    @DisplayName("the gradient it back-propagates matches finite differences of its loss")
    void gradientMatchesFiniteDifferences() {
        BigramRunner model = new BigramRunner(VOCAB, kernels);
        Random random = new Random(3);
        float[] w = model.table.values();
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        TokenBatch batch = TokenBatch.nextToken(2, 6, new int[] {0, 1, 2, 0, 1, 2, 5, 5, 3, 3, 4, 0});

        // Every element of the table, h = 1e-2, within 1e-3.
        assertThat(GradientCheck.DEFAULT.withSamples(w.length).withStep(1e-2).withTolerance(1e-3, 0)
                .objective(objective, new PretrainConfig(), batch, model, List.of(model.table))).isEmpty();
    }

    @Test
    @DisplayName("gradient descent with it learns a deterministic sequence: loss falls towards zero")
    void lossFallsWhenTraining() {
        BigramRunner model = new BigramRunner(VOCAB, kernels);
        int[] cycle = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3};
        TokenBatch batch = TokenBatch.nextToken(1, cycle.length, cycle);

        double first = Double.NaN;
        double last = Double.NaN;
        for (int step = 0; step < 200; step++) {
            Arrays.fill(model.table.gradient(), 0f);
            last = objective.step(new PretrainConfig(), batch, model, 1f).loss();
            if (step == 0) {
                first = last;
            }
            float[] w = model.table.values();
            float[] g = model.table.gradient();
            for (int i = 0; i < w.length; i++) {
                w[i] -= 5f * g[i];
            }
        }
        assertThat(first).isCloseTo(Math.log(VOCAB), within(1e-6));
        assertThat(last).isLessThan(0.05 * first);
    }

    @Test
    @DisplayName("a batch without labels takes no loss and touches no gradient")
    void unlabelledBatch() {
        BigramRunner model = new BigramRunner(VOCAB, kernels);
        int[] ignore = new int[4];
        Arrays.fill(ignore, TokenBatch.IGNORE);
        StepResult result = objective.step(new PretrainConfig(), new TokenBatch(1, 4, new int[] {1, 2, 3, 4}, ignore), model, 1f);
        assertThat(result.tokens()).isZero();
        assertThat(model.table.gradient()).containsOnly(0f);
    }

    @Test
    @DisplayName("a text record becomes BOS + tokens + EOS, all targets but BOS; a record without text is refused")
    void encodesTextRecords() {
        TextTokenizer chars = new TextTokenizer() {
            @Override
            public int[] encode(String text) {
                return text.chars().map(c -> c - 'a' + 2).toArray();
            }

            @Override
            public String decode(int[] ids) {
                return java.util.Arrays.stream(ids).mapToObj(id -> String.valueOf((char) (id + 'a' - 2)))
                        .collect(java.util.stream.Collectors.joining());
            }

            @Override
            public int bosId() {
                return 0;
            }

            @Override
            public int eosId() {
                return 1;
            }

            @Override
            public String renderChat(java.util.List<io.gradus.api.data.ChatMessage> messages, boolean addGenerationPrompt) {
                throw new IllegalStateException("this tokenizer has no chat template");
            }
        };
        Example example = objective.encode(new PretrainConfig(), Map.of("text", "abc"), chars);
        assertThat(example.ids()).containsExactly(0, 2, 3, 4, 1);
        assertThat(example.targets()).containsExactly(false, true, true, true, true);
        assertThatThrownBy(() -> objective.encode(new PretrainConfig(), Map.of("prompt", "x"), chars))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"text\"");
    }
}
