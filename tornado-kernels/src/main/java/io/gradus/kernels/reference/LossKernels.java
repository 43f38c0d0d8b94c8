package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * Loss kernels over flat arrays, written in TornadoVM's programming model: a final class of static
 * methods, no allocation, no objects, one independent iteration per row. Called directly they are
 * plain Java and serve as the reference every faster backend is tested against.
 *
 * <p>Shapes: {@code logits} and {@code dLogits} are rows x vocab, row-major; {@code targets} has one
 * id per row, negative for rows that take no loss.
 */
public final class LossKernels {

    private LossKernels() {}

    /**
     * Softmax cross-entropy of rows [{@code rowStart}, {@code rowEnd}) with its gradient.
     *
     * <p>Per row, with m = max(x) for stability: logZ = m + log(sum_j exp(x_j - m)),
     * loss = logZ - x[target], and d loss / d x_j = softmax(x)_j - [j == target], scaled by
     * {@code gradScale}. Rows with a negative target add nothing and get a zero gradient.
     *
     * @param rowLoss per-row loss output (0 for ignored rows), length rows
     * @param dLogits gradient output, or {@code null} to skip it
     */
    public static void crossEntropyRows(
            float[] logits, int vocab, int[] targets, float[] rowLoss, float[] dLogits, float gradScale,
            int rowStart, int rowEnd) {
        for (@Parallel int at = 0; at < rowEnd - rowStart; at++) {
            crossEntropyRow(logits, vocab, targets, rowLoss, dLogits, gradScale, rowStart + at);
        }
    }

    /** Row r of {@link #crossEntropyRows} (shared with kernels that read gradScale from an array). */
    public static void crossEntropyRow(float[] logits, int vocab, int[] targets, float[] rowLoss, float[] dLogits,
            float gradScale, int r) {
        int base = r * vocab;
        int target = targets[r];
        if (target < 0) {
            rowLoss[r] = 0f;
            if (dLogits != null) {
                for (int j = 0; j < vocab; j++) {
                    dLogits[base + j] = 0f;
                }
            }
            return;
        }
        double logZ = logSumExp(logits, base, vocab);
        rowLoss[r] = (float) (logZ - logits[base + target]);
        if (dLogits != null) {
            for (int j = 0; j < vocab; j++) {
                float p = (float) Math.exp(logits[base + j] - logZ);
                dLogits[base + j] = gradScale * (j == target ? p - 1f : p);
            }
        }
    }

    /** log Σ_j e^(x_j) over the {@code vocab} logits from {@code base}, with the maximum shifted out for stability. */
    public static double logSumExp(float[] logits, int base, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
            max = Math.max(max, logits[base + j]);
        }
        double sum = 0;
        for (int j = 0; j < vocab; j++) {
            sum += Math.exp(logits[base + j] - max);
        }
        return max + Math.log(sum);
    }

    /**
     * Log-probabilities of the targets of rows [{@code rowStart}, {@code rowEnd}): per row,
     * logp = x[target] − logZ and, when {@code entropies} is not null, the entropy
     * H = logZ − Σ_j p_j·x_j of softmax(x) (from H = −Σ p log p with log p_j = x_j − logZ). Rows
     * with a negative target get 0 in both.
     */
    public static void tokenLogProbsRows(float[] logits, int vocab, int[] targets, float[] logProbs, float[] entropies,
            int rowStart, int rowEnd) {
        for (@Parallel int at = 0; at < rowEnd - rowStart; at++) {
            tokenLogProbRow(logits, vocab, targets, logProbs, entropies, rowStart + at);
        }
    }

    /** Row r of {@link #tokenLogProbsRows}. */
    public static void tokenLogProbRow(float[] logits, int vocab, int[] targets, float[] logProbs, float[] entropies,
            int r) {
        int base = r * vocab;
        int target = targets[r];
        if (target < 0) {
            logProbs[r] = 0f;
            if (entropies != null) {
                entropies[r] = 0f;
            }
            return;
        }
        double logZ = logSumExp(logits, base, vocab);
        logProbs[r] = (float) (logits[base + target] - logZ);
        if (entropies != null) {
            double expected = 0;
            for (int j = 0; j < vocab; j++) {
                expected += Math.exp(logits[base + j] - logZ) * logits[base + j];
            }
            entropies[r] = (float) (logZ - expected);
        }
    }

    /**
     * Backward of {@link #tokenLogProbsRows}' log-probabilities over rows [{@code rowStart},
     * {@code rowEnd}): d logp / d x_j = [j == target] − softmax(x)_j, so
     * {@code dLogits[r] = dLogProbs[r]·(onehot(target) − softmax(x_r))}; rows with a negative target
     * get zeros.
     */
    public static void tokenLogProbsBackwardRows(float[] dLogits, float[] logits, int vocab, int[] targets,
            float[] dLogProbs, int rowStart, int rowEnd) {
        for (@Parallel int at = 0; at < rowEnd - rowStart; at++) {
            tokenLogProbBackwardRow(dLogits, logits, vocab, targets, dLogProbs[rowStart + at], rowStart + at);
        }
    }

    /** Row r of {@link #tokenLogProbsBackwardRows}, with its gradient {@code weight} = dLogProbs[r]. */
    public static void tokenLogProbBackwardRow(float[] dLogits, float[] logits, int vocab, int[] targets, float weight,
            int r) {
        int base = r * vocab;
        int target = targets[r];
        if (target < 0) {
            for (int j = 0; j < vocab; j++) {
                dLogits[base + j] = 0f;
            }
            return;
        }
        double logZ = logSumExp(logits, base, vocab);
        for (int j = 0; j < vocab; j++) {
            float p = (float) Math.exp(logits[base + j] - logZ);
            dLogits[base + j] = weight * (j == target ? 1f - p : -p);
        }
    }
}
