package io.gradus.kernels.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * Causal grouped-query attention as per-head matrix products on the vectorised matmul kernels: the
 * same mathematics as the reference {@code AttentionKernels}, reorganised so that the O(T²·D) work
 * runs at matmul speed instead of one scalar dot product at a time.
 *
 * <p>Per (batch, head): gather Q (pre-scaled by 1/√D), K and V of the head into contiguous [T, D]
 * blocks; S = Q·Kᵀ; a causal softmax on each row of S gives P (kept in {@code att}); O = P·V. The
 * products cover the full T×T square and the mask zeroes the upper half: about twice the arithmetic
 * of a causal kernel, but at vector speed. The backward pass works per key/value group (so no two
 * tasks write the same dK/dV rows) with dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP))/√D, dQ = dS·K,
 * dK += dSᵀ·Q and dV += Pᵀ·dO.
 *
 * <p>Every task computes its head in a fixed order, so results do not depend on the thread count.
 */
final class VectorAttention {

    private VectorAttention() {}

    /** Heads [from, to) of the flattened (b, h) index. */
    static void forward(float[] out, float[] att, float[] q, float[] k, float[] v, int seq, int heads, int kvHeads,
            int headDim, int from, int to) {
        float scale = 1f / (float) Math.sqrt(headDim);
        int group = heads / kvHeads;
        float[] qh = new float[seq * headDim];
        float[] kh = new float[seq * headDim];
        float[] vh = new float[seq * headDim];
        float[] scores = new float[seq * seq];
        float[] oh = new float[seq * headDim];
        for (int index = from; index < to; index++) {
            int b = index / heads;
            int h = index % heads;
            int kvh = h / group;
            gather(qh, q, b, seq, heads, h, headDim, scale);
            gather(kh, k, b, seq, kvHeads, kvh, headDim, 1f);
            gather(vh, v, b, seq, kvHeads, kvh, headDim, 1f);
            VectorMatmul.multiply(scores, qh, headDim, 1, kh, 1, headDim, seq, headDim, false, 0, seq); // S = Q·Kᵀ
            causalSoftmax(scores, seq);
            System.arraycopy(scores, 0, att, index * seq * seq, seq * seq);
            VectorMatmul.multiply(oh, scores, seq, 1, vh, headDim, 1, headDim, seq, false, 0, seq); // O = P·V
            scatter(out, oh, b, seq, heads, h, headDim, false);
        }
    }

    /** Key/value groups [from, to) of the flattened (b, kvh) index. */
    static void backward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] att, float[] q, float[] k,
            float[] v, int seq, int heads, int kvHeads, int headDim, int from, int to) {
        float scale = 1f / (float) Math.sqrt(headDim);
        int group = heads / kvHeads;
        int block = seq * headDim;
        float[] kh = new float[block];
        float[] vh = new float[block];
        float[] qh = new float[block];
        float[] dOh = new float[block];
        float[] dQh = new float[block];
        float[] dKh = new float[block];
        float[] dVh = new float[block];
        float[] p = new float[seq * seq];
        float[] dS = new float[seq * seq];
        for (int index = from; index < to; index++) {
            int b = index / kvHeads;
            int kvh = index % kvHeads;
            gather(kh, k, b, seq, kvHeads, kvh, headDim, 1f);
            gather(vh, v, b, seq, kvHeads, kvh, headDim, 1f);
            java.util.Arrays.fill(dKh, 0f);
            java.util.Arrays.fill(dVh, 0f);
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                gather(qh, q, b, seq, heads, h, headDim, 1f);
                gather(dOh, dOut, b, seq, heads, h, headDim, 1f);
                System.arraycopy(att, (b * heads + h) * seq * seq, p, 0, seq * seq);
                VectorMatmul.multiply(dS, dOh, headDim, 1, vh, 1, headDim, seq, headDim, false, 0, seq); // dP = dO·Vᵀ
                softmaxBackward(dS, p, seq, scale);
                VectorMatmul.multiply(dQh, dS, seq, 1, kh, headDim, 1, headDim, seq, false, 0, seq); // dQ = dS·K
                VectorMatmul.multiply(dKh, dS, 1, seq, qh, headDim, 1, headDim, seq, true, 0, seq); // dK += dSᵀ·Q
                VectorMatmul.multiply(dVh, p, 1, seq, dOh, headDim, 1, headDim, seq, true, 0, seq); // dV += Pᵀ·dO
                scatter(dq, dQh, b, seq, heads, h, headDim, true);
            }
            scatter(dk, dKh, b, seq, kvHeads, kvh, headDim, true);
            scatter(dv, dVh, b, seq, kvHeads, kvh, headDim, true);
        }
    }

    /** Row t of S over keys s ≤ t: P = softmax; entries above the diagonal become 0. */
    private static void causalSoftmax(float[] s, int seq) {
        int lanes = VectorMath.S.length();
        float[] lane = new float[lanes];
        for (int t = 0; t < seq; t++) {
            int row = t * seq;
            int count = t + 1;
            int vectorEnd = count - count % lanes;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < count; j++) {
                max = Math.max(max, s[row + j]);
            }
            FloatVector shift = FloatVector.broadcast(VectorMath.S, max);
            FloatVector sums = FloatVector.zero(VectorMath.S);
            int j = 0;
            for (; j < vectorEnd; j += lanes) {
                FloatVector e = VectorMath.exp(FloatVector.fromArray(VectorMath.S, s, row + j).sub(shift));
                e.intoArray(s, row + j);
                sums = sums.add(e);
            }
            float sum = VectorMath.sum(sums, lane);
            for (; j < count; j++) {
                float e = VectorMath.exp(s[row + j] - max);
                s[row + j] = e;
                sum += e;
            }
            float inverse = 1f / sum;
            for (j = 0; j < count; j++) {
                s[row + j] *= inverse;
            }
            for (j = count; j < seq; j++) {
                s[row + j] = 0f;
            }
        }
    }

    /** Turns dP into dS = P∘(dP − Σ_j P·dP)·scale in place, row by row (zero above the diagonal). */
    private static void softmaxBackward(float[] d, float[] p, int seq, float scale) {
        for (int t = 0; t < seq; t++) {
            int row = t * seq;
            float weighted = 0f;
            for (int j = 0; j <= t; j++) {
                weighted += p[row + j] * d[row + j];
            }
            for (int j = 0; j <= t; j++) {
                d[row + j] = p[row + j] * (d[row + j] - weighted) * scale;
            }
            for (int j = t + 1; j < seq; j++) {
                d[row + j] = 0f;
            }
        }
    }

    /** block[t, :] = factor·x[b, t, head, :] from x [batch, seq, heads, headDim]. */
    private static void gather(float[] block, float[] x, int b, int seq, int heads, int head, int headDim, float factor) {
        for (int t = 0; t < seq; t++) {
            int source = ((b * seq + t) * heads + head) * headDim;
            for (int i = 0; i < headDim; i++) {
                block[t * headDim + i] = factor * x[source + i];
            }
        }
    }

    /** x[b, t, head, :] (+)= block[t, :]. */
    private static void scatter(float[] x, float[] block, int b, int seq, int heads, int head, int headDim,
            boolean accumulate) {
        for (int t = 0; t < seq; t++) {
            int target = ((b * seq + t) * heads + head) * headDim;
            for (int i = 0; i < headDim; i++) {
                x[target + i] = accumulate ? x[target + i] + block[t * headDim + i] : block[t * headDim + i];
            }
        }
    }
}
