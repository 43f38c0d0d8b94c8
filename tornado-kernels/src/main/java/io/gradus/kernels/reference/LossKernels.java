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
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
            max = Math.max(max, logits[base + j]);
        }
        double sum = 0;
        for (int j = 0; j < vocab; j++) {
            sum += Math.exp(logits[base + j] - max);
        }
        double logZ = max + Math.log(sum);
        rowLoss[r] = (float) (logZ - logits[base + target]);
        if (dLogits != null) {
            for (int j = 0; j < vocab; j++) {
                float p = (float) Math.exp(logits[base + j] - logZ);
                dLogits[base + j] = gradScale * (j == target ? p - 1f : p);
            }
        }
    }
}
