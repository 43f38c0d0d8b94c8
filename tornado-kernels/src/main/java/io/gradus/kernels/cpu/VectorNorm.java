package io.gradus.kernels.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * RMSNorm on float vectors: the formulas of the reference {@code NormKernels}. The per-row sums
 * (mean of squares, the backward pass's dot product) are taken in lanes, so they differ from the
 * reference's sequential sums by float rounding; the weight gradient adds rows in the reference's
 * order with the same operations and equals it exactly.
 */
final class VectorNorm {

    private static final int L = VectorMath.S.length();

    private VectorNorm() {}

    /** Rows [from, to): out = weight·x·rstd, rstd = 1/sqrt(mean(x²) + eps). */
    static void forward(float[] out, float[] rstd, float[] x, float[] weight, int dim, float eps, int from, int to) {
        float[] lanes = new float[L];
        int vectorEnd = dim - dim % L;
        for (int r = from; r < to; r++) {
            int base = r * dim;
            FloatVector squares = FloatVector.zero(VectorMath.S);
            int i = 0;
            for (; i < vectorEnd; i += L) {
                FloatVector v = FloatVector.fromArray(VectorMath.S, x, base + i);
                squares = v.fma(v, squares);
            }
            float sum = VectorMath.sum(squares, lanes);
            for (; i < dim; i++) {
                sum += x[base + i] * x[base + i];
            }
            float s = 1f / (float) Math.sqrt(sum / dim + eps);
            rstd[r] = s;
            for (i = 0; i < vectorEnd; i += L) {
                FloatVector.fromArray(VectorMath.S, x, base + i).mul(s)
                        .mul(FloatVector.fromArray(VectorMath.S, weight, i)).intoArray(out, base + i);
            }
            for (; i < dim; i++) {
                out[base + i] = weight[i] * (x[base + i] * s);
            }
        }
    }

    /** Rows [from, to) of dx += rstd·(g − x̂·mean(g·x̂)), x̂ = x·rstd, g = dOut·weight. */
    static void backward(float[] dx, float[] dOut, float[] x, float[] weight, float[] rstd, int dim, int from, int to) {
        float[] lanes = new float[L];
        int vectorEnd = dim - dim % L;
        for (int r = from; r < to; r++) {
            int base = r * dim;
            float s = rstd[r];
            FloatVector dots = FloatVector.zero(VectorMath.S);
            int i = 0;
            for (; i < vectorEnd; i += L) {
                FloatVector g = FloatVector.fromArray(VectorMath.S, dOut, base + i)
                        .mul(FloatVector.fromArray(VectorMath.S, weight, i));
                dots = g.fma(FloatVector.fromArray(VectorMath.S, x, base + i), dots);
            }
            float dot = VectorMath.sum(dots, lanes);
            for (; i < dim; i++) {
                dot += dOut[base + i] * weight[i] * x[base + i];
            }
            float mean = dot * s / dim;
            for (i = 0; i < vectorEnd; i += L) {
                FloatVector g = FloatVector.fromArray(VectorMath.S, dOut, base + i)
                        .mul(FloatVector.fromArray(VectorMath.S, weight, i));
                FloatVector xhat = FloatVector.fromArray(VectorMath.S, x, base + i).mul(s);
                FloatVector.fromArray(VectorMath.S, dx, base + i).add(g.sub(xhat.mul(mean)).mul(s)).intoArray(dx, base + i);
            }
            for (; i < dim; i++) {
                float xhat = x[base + i] * s;
                dx[base + i] += s * (dOut[base + i] * weight[i] - xhat * mean);
            }
        }
    }

    /**
     * Columns [from, to) of dWeight += Σ_rows dOut·x·rstd, rows added in order: vectors run along
     * the columns, so each row is read contiguously instead of one column at a time.
     */
    static void weightGradient(float[] dWeight, float[] dOut, float[] x, float[] rstd, int rows, int dim, int from,
            int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector sum = FloatVector.zero(VectorMath.S);
            for (int r = 0; r < rows; r++) {
                sum = sum.add(FloatVector.fromArray(VectorMath.S, dOut, r * dim + i)
                        .mul(FloatVector.fromArray(VectorMath.S, x, r * dim + i)).mul(rstd[r]));
            }
            FloatVector.fromArray(VectorMath.S, dWeight, i).add(sum).intoArray(dWeight, i);
        }
        for (; i < to; i++) {
            float sum = 0f;
            for (int r = 0; r < rows; r++) {
                sum += dOut[r * dim + i] * x[r * dim + i] * rstd[r];
            }
            dWeight[i] += sum;
        }
    }
}
