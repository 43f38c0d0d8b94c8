package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/** RMSNorm (Zhang &amp; Sennrich 2019) over rows [from, to) of a [rows, dim] matrix. */
public final class NormKernels {

    private NormKernels() {}

    /** out = weight·x·rstd, rstd = 1/sqrt(mean(x²) + eps); rstd is kept for the backward pass. */
    public static void rmsNormForward(float[] out, float[] rstd, float[] x, float[] weight, int dim, float eps,
            int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int r = from + at;
            int base = r * dim;
            float sumSquares = 0f;
            for (int i = 0; i < dim; i++) {
                sumSquares += x[base + i] * x[base + i];
            }
            float s = 1f / (float) Math.sqrt(sumSquares / dim + eps);
            rstd[r] = s;
            for (int i = 0; i < dim; i++) {
                out[base + i] = weight[i] * (x[base + i] * s);
            }
        }
    }

    /**
     * dx += rstd·(g − x̂·mean(g·x̂)) with x̂ = x·rstd and g = dOut·weight. The weight gradient is a sum
     * over rows, so it is computed separately ({@link #rmsNormWeightGradient}) to keep rows independent.
     */
    public static void rmsNormBackward(float[] dx, float[] dOut, float[] x, float[] weight, float[] rstd, int dim,
            int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int r = from + at;
            int base = r * dim;
            float s = rstd[r];
            float dot = 0f;
            for (int i = 0; i < dim; i++) {
                dot += dOut[base + i] * weight[i] * x[base + i] * s;
            }
            float mean = dot / dim;
            for (int i = 0; i < dim; i++) {
                float xhat = x[base + i] * s;
                dx[base + i] += s * (dOut[base + i] * weight[i] - xhat * mean);
            }
        }
    }

    /** Columns [from, to) of dWeight += Σ_rows dOut·x̂. */
    public static void rmsNormWeightGradient(float[] dWeight, float[] dOut, float[] x, float[] rstd, int rows, int dim,
            int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            float sum = 0f;
            for (int r = 0; r < rows; r++) {
                sum += dOut[r * dim + i] * x[r * dim + i] * rstd[r];
            }
            dWeight[i] += sum;
        }
    }
}
