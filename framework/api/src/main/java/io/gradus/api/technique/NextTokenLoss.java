package io.gradus.api.technique;

import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
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
}
