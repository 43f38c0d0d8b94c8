package io.gradus.plugin.lora.internal;

import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.llama.LlamaEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Analytic gradients of the mean next-token loss against central finite differences. */
final class FiniteDifferences {

    private FiniteDifferences() {}

    /** The mean next-token cross-entropy of {@code batch}; its gradient w.r.t. the logits into {@code d} unless null. */
    static double loss(LlamaEngine engine, TokenBatch batch, float[] d) {
        float[] logits = engine.forward(batch);
        int n = batch.countLabels();
        return engine.kernels().crossEntropy(logits, batch.batchSize() * batch.seqLen(), engine.vocabSize(),
                batch.labels(), d, 1f / n) / n;
    }

    /**
     * Runs one backward pass for {@code batch} and compares, at {@code samples} random elements of each
     * parameter, its gradient with (loss(p + h) − loss(p − h)) / 2h; returns the elements that differ.
     */
    static List<String> mismatches(LlamaEngine engine, TokenBatch batch, List<Parameter> parameters, int samples,
            long seed) {
        float[] d = new float[batch.batchSize() * batch.seqLen() * engine.vocabSize()];
        loss(engine, batch, d);
        engine.backward(d);
        Random random = new Random(seed);
        List<String> failures = new ArrayList<>();
        for (Parameter p : parameters) {
            for (int s = 0; s < samples; s++) {
                int i = random.nextInt(p.size());
                float saved = p.values()[i];
                double h = 3e-3; // central differences: error O(h²), float noise O(1e-7/h)
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
}
