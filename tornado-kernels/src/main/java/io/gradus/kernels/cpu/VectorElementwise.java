package io.gradus.kernels.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * Element-wise kernels on float vectors: the exponential-heavy ones with {@link VectorMath#exp} (the
 * SwiGLU gate, softmax cross-entropy) and the embedding gradient. The same formulas as the reference
 * kernels (which compute e^x in double with {@code Math.exp}); results agree within a few float
 * ulps (the embedding gradient exactly) and are the same bits for every thread count and JIT state.
 */
final class VectorElementwise {

    private static final int L = VectorMath.S.length();

    private VectorElementwise() {}

    /** σ(g) = 1 / (1 + e^−g) per lane. */
    private static FloatVector sigmoid(FloatVector g) {
        return FloatVector.broadcast(VectorMath.S, 1f).div(VectorMath.exp(g.neg()).add(1f));
    }

    private static float sigmoid(float g) {
        return 1f / (1f + VectorMath.exp(-g));
    }

    /** [from, to) of h = g·σ(g)·u. */
    static void swigluForward(float[] h, float[] g, float[] u, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector gv = FloatVector.fromArray(VectorMath.S, g, i);
            gv.mul(sigmoid(gv)).mul(FloatVector.fromArray(VectorMath.S, u, i)).intoArray(h, i);
        }
        for (; i < to; i++) {
            h[i] = g[i] * sigmoid(g[i]) * u[i];
        }
    }

    /** [from, to) of du = dh·g·σ(g) and dg = dh·u·σ(g)·(1 + g·(1 − σ(g))). */
    static void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector gv = FloatVector.fromArray(VectorMath.S, g, i);
            FloatVector dhv = FloatVector.fromArray(VectorMath.S, dh, i);
            FloatVector s = sigmoid(gv);
            dhv.mul(gv.mul(s)).intoArray(du, i);
            FloatVector slope = gv.mul(s.neg().add(1f)).add(1f);
            dhv.mul(FloatVector.fromArray(VectorMath.S, u, i)).mul(s).mul(slope).intoArray(dg, i);
        }
        for (; i < to; i++) {
            float s = sigmoid(g[i]);
            du[i] = dh[i] * (g[i] * s);
            dg[i] = dh[i] * u[i] * s * (g[i] * (1f - s) + 1f);
        }
    }

    /**
     * Rows [from, to) of softmax cross-entropy with its gradient, as the reference
     * {@code LossKernels.crossEntropyRows}: per row, m = max(x), logZ = m + log Σ e^(x−m), loss =
     * logZ − x[target], dx = scale·(e^(x−logZ) − [j = target]); rows with a negative target get no
     * loss and a zero gradient.
     */
    static void crossEntropyRows(float[] logits, int vocab, int[] targets, float[] rowLoss, float[] dLogits,
            float gradScale, int from, int to) {
        float[] lanes = new float[L];
        for (int r = from; r < to; r++) {
            int base = r * vocab;
            int target = targets[r];
            if (target < 0) {
                rowLoss[r] = 0f;
                if (dLogits != null) {
                    java.util.Arrays.fill(dLogits, base, base + vocab, 0f);
                }
                continue;
            }
            float logZ = logSumExp(logits, base, vocab, lanes);
            rowLoss[r] = logZ - logits[base + target];
            if (dLogits != null) {
                softmaxTimes(dLogits, logits, base, vocab, logZ, gradScale);
                dLogits[base + target] -= gradScale;
            }
        }
    }

    /** log Σ_j e^(x_j) of one row, the maximum shifted out; {@code lanes} is scratch of one vector. */
    private static float logSumExp(float[] logits, int base, int vocab, float[] lanes) {
        int vectorEnd = vocab - vocab % L;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
            max = Math.max(max, logits[base + j]);
        }
        FloatVector shift = FloatVector.broadcast(VectorMath.S, max);
        FloatVector sums = FloatVector.zero(VectorMath.S);
        int j = 0;
        for (; j < vectorEnd; j += L) {
            sums = sums.add(VectorMath.exp(FloatVector.fromArray(VectorMath.S, logits, base + j).sub(shift)));
        }
        double sum = VectorMath.sum(sums, lanes);
        for (; j < vocab; j++) {
            sum += VectorMath.exp(logits[base + j] - max);
        }
        return (float) (max + Math.log(sum));
    }

    /** {@code out[base + j] = factor · e^(x_j − logZ)} over one row: the row's softmax, scaled. */
    private static void softmaxTimes(float[] out, float[] logits, int base, int vocab, float logZ, float factor) {
        int vectorEnd = vocab - vocab % L;
        FloatVector z = FloatVector.broadcast(VectorMath.S, logZ);
        int j = 0;
        for (; j < vectorEnd; j += L) {
            VectorMath.exp(FloatVector.fromArray(VectorMath.S, logits, base + j).sub(z)).mul(factor)
                    .intoArray(out, base + j);
        }
        for (; j < vocab; j++) {
            out[base + j] = factor * VectorMath.exp(logits[base + j] - logZ);
        }
    }

    /**
     * Rows [from, to) of {@code LossKernels.tokenLogProbsRows}: logp = x[target] − logZ and, when
     * {@code entropies} is not null, H = logZ − Σ_j e^(x_j − logZ)·x_j; rows with a negative target
     * get 0.
     */
    static void tokenLogProbsRows(float[] logits, int vocab, int[] targets, float[] logProbs, float[] entropies,
            int from, int to) {
        float[] lanes = new float[L];
        int vectorEnd = vocab - vocab % L;
        for (int r = from; r < to; r++) {
            int base = r * vocab;
            int target = targets[r];
            if (target < 0) {
                logProbs[r] = 0f;
                if (entropies != null) {
                    entropies[r] = 0f;
                }
                continue;
            }
            float logZ = logSumExp(logits, base, vocab, lanes);
            logProbs[r] = logits[base + target] - logZ;
            if (entropies != null) {
                FloatVector z = FloatVector.broadcast(VectorMath.S, logZ);
                FloatVector sums = FloatVector.zero(VectorMath.S);
                int j = 0;
                for (; j < vectorEnd; j += L) {
                    FloatVector x = FloatVector.fromArray(VectorMath.S, logits, base + j);
                    sums = VectorMath.exp(x.sub(z)).fma(x, sums);
                }
                double expected = VectorMath.sum(sums, lanes);
                for (; j < vocab; j++) {
                    expected += VectorMath.exp(logits[base + j] - logZ) * logits[base + j];
                }
                entropies[r] = (float) (logZ - expected);
            }
        }
    }

    /**
     * Rows [from, to) of {@code LossKernels.tokenLogProbsBackwardRows}:
     * dLogits[r] = dLogProbs[r]·(onehot(target) − softmax(x_r)); rows with a negative target get zeros.
     */
    static void tokenLogProbsBackwardRows(float[] dLogits, float[] logits, int vocab, int[] targets, float[] dLogProbs,
            int from, int to) {
        float[] lanes = new float[L];
        for (int r = from; r < to; r++) {
            int base = r * vocab;
            int target = targets[r];
            if (target < 0) {
                java.util.Arrays.fill(dLogits, base, base + vocab, 0f);
                continue;
            }
            float weight = dLogProbs[r];
            softmaxTimes(dLogits, logits, base, vocab, logSumExp(logits, base, vocab, lanes), -weight);
            dLogits[base + target] += weight;
        }
    }

    /**
     * Columns [from, to) of dTable[ids[r]] += dOut[r] over all n rows, rows in order as in the
     * reference kernel (so the sums are the same), but each row's columns as one vector run.
     */
    static void embeddingBackward(float[] dTable, float[] dOut, int[] ids, int n, int dim, int from, int to) {
        int vectorEnd = from + (to - from) / L * L;
        for (int r = 0; r < n; r++) {
            int target = ids[r] * dim;
            int source = r * dim;
            int i = from;
            for (; i < vectorEnd; i += L) {
                FloatVector.fromArray(VectorMath.S, dTable, target + i)
                        .add(FloatVector.fromArray(VectorMath.S, dOut, source + i)).intoArray(dTable, target + i);
            }
            for (; i < to; i++) {
                dTable[target + i] += dOut[source + i];
            }
        }
    }
}
