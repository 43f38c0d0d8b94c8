package io.gradus.api.technique;

import io.gradus.api.model.TokenBatch;

/**
 * Per-sequence sums of the log-probabilities of completion tokens, from the per-position values of
 * {@link io.gradus.api.kernel.KernelBackend#tokenLogProbs} (the positions whose label is not
 * ignored: DPO's log π(y|x) = Σ_t log π(y_t | x, y_&lt;t)), and the backward of such a sum.
 */
public final class CompletionLogProbs {

    private CompletionLogProbs() {}

    /** For each row, Σ over its labelled positions of {@code tokenLogProbs} [B·T]. */
    public static double[] sum(TokenBatch batch, float[] tokenLogProbs) {
        double[] sums = new double[batch.batchSize()];
        int[] labels = batch.labels();
        for (int b = 0; b < batch.batchSize(); b++) {
            double s = 0;
            for (int i = b * batch.seqLen(); i < (b + 1) * batch.seqLen(); i++) {
                if (labels[i] != TokenBatch.IGNORE) {
                    s += tokenLogProbs[i];
                }
            }
            sums[b] = s;
        }
        return sums;
    }

    /** For each row, the number of labelled positions (the completion's length: IPO averages over it). */
    public static int[] count(TokenBatch batch) {
        int[] counts = new int[batch.batchSize()];
        int[] labels = batch.labels();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != TokenBatch.IGNORE) {
                counts[i / batch.seqLen()]++;
            }
        }
        return counts;
    }

    /**
     * The backward of {@link #sum}: given d loss / d sum per row, the gradient per position
     * (the row's value on its labelled positions, 0 elsewhere), which
     * {@link io.gradus.api.kernel.KernelBackend#tokenLogProbsBackward} turns into dLogits.
     */
    public static float[] spread(TokenBatch batch, double[] dSums) {
        float[] perPosition = new float[batch.batchSize() * batch.seqLen()];
        int[] labels = batch.labels();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != TokenBatch.IGNORE) {
                perPosition[i] = (float) dSums[i / batch.seqLen()];
            }
        }
        return perPosition;
    }
}
