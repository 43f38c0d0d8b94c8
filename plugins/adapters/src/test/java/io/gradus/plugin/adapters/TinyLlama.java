package io.gradus.plugin.adapters;

import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Tuner;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/** A small Llama, a batch, the loss and finite differences, shared by the adapter tests. */
final class TinyLlama {

    static final CpuKernelBackend KERNELS = new CpuKernelBackend();

    /** Hidden size 20 (not a multiple of a vector length), 3 layers, grouped-query attention. */
    static final LlamaConfig CONFIG = new LlamaConfig(13, 20, 28, 3, 4, 2, 6, 1e-5, 10000.0, 32, false, 1, 2);

    private TinyLlama() {}

    static LlamaModel model() {
        LlamaModel model = LlamaModel.initialize(CONFIG, 3);
        Random random = new Random(4);
        for (Parameter p : model.parameters()) {
            for (int i = 0; i < p.size(); i++) {
                p.values()[i] = p.name().endsWith("norm.weight") ? 1f : (float) (0.4 * random.nextGaussian());
            }
        }
        return model;
    }

    static TokenBatch batch() {
        return TokenBatch.nextToken(2, 7, new int[] {1, 4, 7, 2, 9, 12, 3, 3, 8, 0, 5, 11, 6, 10});
    }

    static float[] logits(LlamaModel model) {
        return new LlamaEngine(model, KERNELS).forward(batch()).clone();
    }

    /** Mean next-token cross-entropy of the batch; with {@code dLogits}, its gradient too. */
    static double loss(LlamaEngine engine, TokenBatch batch, float[] dLogits) {
        float[] logits = engine.forward(batch);
        int labelled = batch.countLabels();
        return KERNELS.crossEntropy(logits, batch.batchSize() * batch.seqLen(), engine.vocabSize(), batch.labels(),
                dLogits, 1f / labelled) / labelled;
    }

    /** Every adapter weight and bias N(0, scale²): a trained adapter, not the identity. */
    static void randomize(AdaptersTechnique.AdaptersTuning tuning, long seed, double scale) {
        Random random = new Random(seed);
        for (Parameter p : tuning.trainableParameters()) {
            for (int i = 0; i < p.size(); i++) {
                p.values()[i] = (float) (scale * random.nextGaussian());
            }
        }
    }

    /**
     * One forward and backward pass of {@code model} on the batch, then for three sampled entries of
     * each of {@code parameters} the analytic gradient against central differences of the loss (step
     * 3e-3); the entries off by more than 2e-3 + 2%, described.
     */
    static List<String> finiteDifferenceFailures(LlamaModel model, List<Parameter> parameters) {
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = batch();
        float[] dLogits = new float[batch.batchSize() * batch.seqLen() * CONFIG.vocabSize()];
        loss(engine, batch, dLogits);
        engine.backward(dLogits);
        double h = 3e-3;
        Random random = new Random(6);
        List<String> failures = new ArrayList<>();
        for (Parameter p : parameters) {
            for (int s = 0; s < 3; s++) {
                int i = random.nextInt(p.size());
                float saved = p.values()[i];
                p.values()[i] = (float) (saved + h);
                double up = loss(engine, batch, null);
                p.values()[i] = (float) (saved - h);
                double down = loss(engine, batch, null);
                p.values()[i] = saved;
                double numeric = (up - down) / (2 * h);
                if (Math.abs(numeric - p.gradient()[i]) > 2e-3 + 0.02 * Math.abs(numeric)) {
                    failures.add(p.name() + "[" + i + "] analytic " + p.gradient()[i] + " numeric " + numeric);
                }
            }
        }
        return failures;
    }

    /** A catalog that knows these tuners by name, for the host's adapter loader. */
    static TechniqueCatalog catalog(Map<String, Tuner<?>> tuners) {
        return new TechniqueCatalog() {
            @Override
            public List<TechniqueDescriptor> techniques() {
                return List.of();
            }

            @Override
            public Optional<Found<Tuner<?>>> tuner(String name, String versionRange) {
                return Optional.ofNullable(tuners.get(name)).map(tuner -> new Found<>(new TechniqueDescriptor(name,
                        TechniqueFamily.TUNER, "0.1.0", tuner.description(), 0, "test"), tuner));
            }

            @Override
            public Optional<Found<Objective<?>>> objective(String name, String versionRange) {
                return Optional.empty();
            }
        };
    }
}
