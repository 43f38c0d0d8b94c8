package io.gradus.api.technique;

import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import java.util.List;
import java.util.Map;

/**
 * The causal language-modelling step shared by objectives that differ only in which tokens are
 * targets (pre-training, SFT): loss = mean over labelled positions of −log softmax(logits)[label],
 * its gradient (softmax − onehot)/N from the same fused kernel, then the backward pass.
 */
public final class NextTokenLoss {

    private NextTokenLoss() {}

    /** Runs forward, loss and backward for {@code batch}; reports loss and perplexity. */
    public static StepResult step(TokenBatch batch, ModelRunner runner, float gradScale) {
        int labelled = batch.countLabels();
        if (labelled == 0) {
            return new StepResult(0, 0, Map.of());
        }
        int rows = batch.batchSize() * batch.seqLen();
        float[] logits = runner.forward(batch);
        float[] dLogits = new float[logits.length];
        double lossSum = runner.kernels().crossEntropy(logits, rows, runner.vocabSize(), batch.labels(), dLogits,
                gradScale / labelled);
        runner.backward(dLogits);
        double loss = lossSum / labelled;
        return new StepResult(loss, labelled, Map.of("perplexity", Math.exp(loss)));
    }

    /**
     * The mean next-token loss over the labelled positions of {@code batches}, on no-grad passes:
     * {@code loss}, and {@code targets}, how many positions it covered (NaN loss when none).
     */
    public static Map<String, Double> evaluate(List<TokenBatch> batches, ModelRunner runner) {
        double sum = 0;
        long targets = 0;
        for (TokenBatch batch : batches) {
            float[] logits = runner.infer(batch, true).logits();
            sum += runner.kernels().crossEntropy(logits, batch.batchSize() * batch.seqLen(), runner.vocabSize(),
                    batch.labels(), null, 1f);
            targets += batch.countLabels();
        }
        return Map.of("loss", targets == 0 ? Double.NaN : sum / targets, "targets", (double) targets);
    }
}
