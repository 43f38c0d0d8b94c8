package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every parameter kind's gradient against central finite differences of the loss, on tiny models. */
class LlamaGradientTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();

    static LlamaModel tinyModel(boolean tied, long seed) {
        // Grouped-query attention (4 query heads share 2 key/value heads), 2 layers.
        LlamaConfig config = new LlamaConfig(11, 8, 12, 2, 4, 2, 2, 1e-5, 10000.0, 64, tied, 1, 2);
        LlamaModel model = LlamaModel.initialize(config, seed);
        Random random = new Random(seed + 1);
        // Larger weights than the 0.02 initialiser, so every gradient is well above rounding noise.
        for (Parameter p : model.parameters()) {
            float[] w = p.values();
            boolean norm = p.name().endsWith("norm.weight");
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (norm ? 1 + 0.2 * random.nextGaussian() : 0.5 * random.nextGaussian());
            }
        }
        return model;
    }

    static TokenBatch batch(LlamaConfig config, long seed) {
        Random random = new Random(seed);
        int b = 2;
        int t = 5;
        int[] ids = new int[b * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(config.vocabSize());
        }
        return TokenBatch.nextToken(b, t, ids);
    }

    static double loss(LlamaEngine engine, TokenBatch batch, float[] dLogits) {
        float[] logits = engine.forward(batch);
        int labelled = batch.countLabels();
        return KERNELS.crossEntropy(logits, batch.batchSize() * batch.seqLen(), engine.vocabSize(), batch.labels(),
                dLogits, 1f / labelled) / labelled;
    }

    @ParameterizedTest(name = "tied embeddings: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("the gradient of every parameter matches finite differences")
    void gradientsMatchFiniteDifferences(boolean tied) {
        LlamaModel model = tinyModel(tied, 5);
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = batch(model.config(), 9);

        float[] dLogits = new float[batch.batchSize() * batch.seqLen() * model.config().vocabSize()];
        loss(engine, batch, dLogits);
        engine.backward(dLogits);

        assertThat(finiteDifferenceFailures(model, () -> loss(engine, batch, null), 1e-2)).isEmpty();
    }

    /**
     * Six sampled entries of every parameter: analytic gradient (already computed) against central
     * differences of {@code loss} with step h; the entries off by more than 2e-3 + 2%, described.
     */
    static List<String> finiteDifferenceFailures(LlamaModel model, java.util.function.DoubleSupplier loss, double h) {
        Random random = new Random(3);
        List<String> failures = new ArrayList<>();
        for (Parameter p : model.parameters()) {
            float[] w = p.values();
            float[] g = p.gradient();
            for (int sample = 0; sample < 6; sample++) {
                int i = random.nextInt(w.length);
                float saved = w[i];
                w[i] = (float) (saved + h);
                double up = loss.getAsDouble();
                w[i] = (float) (saved - h);
                double down = loss.getAsDouble();
                w[i] = saved;
                double numeric = (up - down) / (2 * h);
                if (Math.abs(numeric - g[i]) > 2e-3 + 0.02 * Math.abs(numeric)) {
                    failures.add(p.name() + "[" + i + "]: analytic " + g[i] + " numeric " + numeric);
                }
            }
        }
        return failures;
    }

    @ParameterizedTest(name = "tied embeddings: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("frozen parameters get no gradient buffer and do not change the trainable ones' gradients")
    void frozenParameters(boolean tied) {
        LlamaModel all = tinyModel(tied, 5);
        LlamaModel some = tinyModel(tied, 5);
        all.parameters().forEach(p -> p.setTrainable(true));
        Predicate<String> trained = name -> name.contains("q_proj") || name.contains("down_proj");
        some.parameters().forEach(p -> p.setTrainable(trained.test(p.name())));
        TokenBatch batch = batch(all.config(), 9);
        for (LlamaModel model : List.of(all, some)) {
            LlamaEngine engine = new LlamaEngine(model, KERNELS);
            float[] dLogits = new float[batch.batchSize() * batch.seqLen() * model.config().vocabSize()];
            loss(engine, batch, dLogits);
            engine.backward(dLogits);
        }
        // Chosen by name, not by trainable(): a backward pass that gave a frozen parameter a
        // gradient buffer would make it trainable too, and a filter on trainable() would not see it.
        List<Parameter> frozen = some.parameters().stream().filter(p -> !trained.test(p.name())).toList();
        assertThat(frozen).hasSize(some.parameters().size() - 4);
        for (Parameter p : frozen) {
            assertThatThrownBy(p::gradient).as("%s has a gradient buffer after backward", p.name())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("frozen");
        }
        for (int i = 0; i < all.parameters().size(); i++) {
            Parameter p = some.parameters().get(i);
            if (trained.test(p.name())) {
                assertThat(p.gradient()).as(p.name()).containsExactly(all.parameters().get(i).gradient());
            }
        }
    }
}
