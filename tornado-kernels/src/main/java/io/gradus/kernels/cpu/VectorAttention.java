package io.gradus.kernels.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Causal grouped-query attention as one fused kernel on the matmul register tile
 * ({@link VectorMatmul#tile}): the same mathematics as the reference {@code AttentionKernels}, with
 * only the blocks of the T×T square at or left of the diagonal computed (docs/DESIGN.md, "Attention
 * on the CPU").
 *
 * <p>Forward, per task (batch b, key/value head g, block of {@value #QUERY_BLOCK} query rows): Kᵀ
 * and V of (b, g) are packed once, only the keys the block can see; then for each query head h of
 * the group and each tile of {@link VectorMatmul#MR} query rows, S = Q·Kᵀ left of the diagonal goes
 * straight into the rows of P ({@code att}), the causal softmax turns them into probabilities while
 * they are in L1 (the 1/√D applied there), and O = P·V over the keys up to the tile's last row.
 * Q and O are read and written in place.
 *
 * <p>Backward, per task (b, g), the owner of g's dK and dV rows: per query head, dP = dO·Vᵀ left of
 * the diagonal, dS = P∘(dP − rowsum(P∘dP))/√D, dQ += dS·K per query tile; then per key tile
 * dK += dSᵀ·Q and dV += Pᵀ·dO over the queries from the key tile's first row on (the rows before
 * it see none of the tile's keys).
 *
 * <p>Each product's output is summed in order of its shared index with fused multiply-adds; terms
 * past the diagonal are exact zeros; the softmax's row sums use fixed lane partial sums, then the
 * lanes in order. The results therefore do not depend on the tiling or the thread count.
 */
final class VectorAttention {

    /**
     * Query rows per forward task: whole register tiles. Each task packs its key/value head's K and V
     * anew, so larger blocks pack less often; smaller ones make more tasks to share among threads
     * (SMALL's 128 positions give 3 blocks per key/value head, 48 tasks a layer).
     */
    static final int QUERY_BLOCK = 8 * VectorMatmul.MR;

    private VectorAttention() {}

    /** Query blocks of a sequence: the forward tasks per (batch, key/value head). */
    static int queryBlocks(int seq) {
        return (seq + QUERY_BLOCK - 1) / QUERY_BLOCK;
    }

    /** Tasks [from, to) of the flattened (b, g, query block) index. */
    static void forward(float[] out, float[] att, float[] q, float[] k, float[] v, int seq, int heads, int kvHeads,
            int headDim, int from, int to) {
        float scale = 1f / (float) Math.sqrt(headDim);
        int group = heads / kvHeads;
        int blocks = queryBlocks(seq);
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float[] kt = new float[headDim * VectorMatmul.packedColumns(seq)];
        float[] vp = new float[seq * VectorMatmul.packedColumns(headDim)];
        float[] lanes = new float[VectorMath.S.length()];
        float[] scratch = VectorMatmul.tileScratch();
        for (int index = from; index < to; index++) {
            int b = index / (kvHeads * blocks);
            int g = index / blocks % kvHeads;
            int t0 = index % blocks * QUERY_BLOCK;
            int t1 = Math.min(seq, t0 + QUERY_BLOCK);
            // the keys the block sees, rounded up to whole panels of Kᵀ (at most the whole sequence)
            int keys = Math.min(seq, VectorMatmul.packedColumns(t1));
            int kvBase = b * seq * kvStride + g * headDim;
            packHead(kt, k, vp, v, kvBase, kvStride, keys, headDim); // Kᵀ [D, keys], V [keys, D]
            for (int h = g * group; h < (g + 1) * group; h++) {
                int qBase = b * seq * qStride + h * headDim;
                int pBase = (b * heads + h) * seq * seq;
                for (int i = t0; i < t1; i += VectorMatmul.MR) {
                    int rows = Math.min(VectorMatmul.MR, t1 - i);
                    int last = i + rows - 1;
                    VectorMatmul.tile(att, pBase, seq, q, qBase, qStride, 1, kt, keys, headDim, i, rows, last + 1, 0,
                            headDim, false, scratch); // S = Q·Kᵀ
                    for (int t = i; t <= last; t++) {
                        causalSoftmax(att, pBase + t * seq, t + 1, seq, scale, lanes);
                    }
                    VectorMatmul.tile(out, qBase, qStride, att, pBase, seq, 1, vp, headDim, keys, i, rows, headDim, 0,
                            last + 1, false, scratch); // O = P·V
                }
            }
        }
    }

    /** Key/value groups [from, to) of the flattened (b, g) index. */
    static void backward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] att, float[] q, float[] k,
            float[] v, int seq, int heads, int kvHeads, int headDim, int from, int to) {
        float scale = 1f / (float) Math.sqrt(headDim);
        int group = heads / kvHeads;
        int qStride = heads * headDim;
        int kvStride = kvHeads * headDim;
        float[] vt = new float[headDim * VectorMatmul.packedColumns(seq)];
        int rowsPacked = seq * VectorMatmul.packedColumns(headDim);
        float[] kp = new float[rowsPacked];
        float[] qp = new float[rowsPacked];
        float[] dOp = new float[rowsPacked];
        float[] dS = new float[seq * seq];
        float[] lanes = new float[VectorMath.S.length()];
        float[] scratch = VectorMatmul.tileScratch();
        for (int index = from; index < to; index++) {
            int b = index / kvHeads;
            int g = index % kvHeads;
            int kvBase = b * seq * kvStride + g * headDim;
            packHead(vt, v, kp, k, kvBase, kvStride, seq, headDim); // Vᵀ [D, T], K [T, D]
            for (int h = g * group; h < (g + 1) * group; h++) {
                int qBase = b * seq * qStride + h * headDim;
                int pBase = (b * heads + h) * seq * seq;
                VectorMatmul.pack(qp, q, qBase, qStride, 1, headDim, seq, 0, seq); // Q [T, D]
                VectorMatmul.pack(dOp, dOut, qBase, qStride, 1, headDim, seq, 0, seq); // dO [T, D]
                for (int i = 0; i < seq; i += VectorMatmul.MR) {
                    int rows = Math.min(VectorMatmul.MR, seq - i);
                    int last = i + rows - 1;
                    VectorMatmul.tile(dS, 0, seq, dOut, qBase, qStride, 1, vt, seq, headDim, i, rows, last + 1, 0,
                            headDim, false, scratch); // dP = dO·Vᵀ
                    for (int t = i; t <= last; t++) {
                        softmaxBackward(dS, t * seq, att, pBase + t * seq, t + 1, seq, scale, lanes);
                    }
                    VectorMatmul.tile(dq, qBase, qStride, dS, 0, seq, 1, kp, headDim, seq, i, rows, headDim, 0,
                            last + 1, true, scratch); // dQ += dS·K
                }
                for (int s = 0; s < seq; s += VectorMatmul.MR) {
                    int rows = Math.min(VectorMatmul.MR, seq - s);
                    VectorMatmul.tile(dk, kvBase, kvStride, dS, 0, 1, seq, qp, headDim, seq, s, rows, headDim, s, seq,
                            true, scratch); // dK += dSᵀ·Q
                    VectorMatmul.tile(dv, kvBase, kvStride, att, pBase, 1, seq, dOp, headDim, seq, s, rows, headDim, s,
                            seq, true, scratch); // dV += Pᵀ·dO
                }
            }
        }
    }

    /**
     * Packs the first {@code keys} positions of one head of two [.., T, heads, D] tensors as op(B) of
     * a product: x's transposed ([D, keys], for products along the head dimension) into
     * {@code transposed}, y's as they are ([keys, D], for products along the keys) into {@code rows}.
     */
    private static void packHead(float[] transposed, float[] x, float[] rows, float[] y, int base, int stride, int keys,
            int headDim) {
        VectorMatmul.pack(transposed, x, base, 1, stride, keys, headDim, 0, headDim);
        VectorMatmul.pack(rows, y, base, stride, 1, headDim, keys, 0, keys);
    }

    /**
     * One row of scores s[row .. row + count) (keys at or before the query) into probabilities
     * softmax(s·scale), and zeros for the keys after the query, up to the row's end.
     */
    private static void causalSoftmax(float[] s, int row, int count, int seq, float scale, float[] lanes) {
        int width = lanes.length;
        int vectorEnd = count - count % width;
        // max(s)·scale is max(s·scale) to the bit (scale > 0, and rounding keeps order), so the
        // first pass only reads, and the scaling happens where the exponent needs it.
        FloatVector maxima = FloatVector.broadcast(VectorMath.S, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j < vectorEnd; j += width) {
            maxima = maxima.max(FloatVector.fromArray(VectorMath.S, s, row + j));
        }
        float max = maxima.reduceLanes(VectorOperators.MAX); // exact in any order
        for (; j < count; j++) {
            max = Math.max(max, s[row + j]);
        }
        max *= scale;
        FloatVector scales = FloatVector.broadcast(VectorMath.S, scale);
        FloatVector shift = FloatVector.broadcast(VectorMath.S, max);
        FloatVector sums = FloatVector.zero(VectorMath.S);
        for (j = 0; j < vectorEnd; j += width) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(VectorMath.S, s, row + j).mul(scales).sub(shift));
            e.intoArray(s, row + j);
            sums = sums.add(e);
        }
        float sum = VectorMath.sum(sums, lanes);
        if (j < count) {
            // The last partial vector's exponentials in one masked vector instead of lane by lane:
            // a causal row of t + 1 keys leaves up to a vector less one of them. Attention's forward
            // ran 12% faster at SMALL's shapes and 5% at MEDIUM's (one JVM, alternating). The same
            // arithmetic per lane, and the sum still adds them one by one after the vectors'
            // lanes, so the result is the same bits.
            VectorMask<Float> tail = VectorMath.S.indexInRange(j, count);
            VectorMath.exp(FloatVector.fromArray(VectorMath.S, s, row + j, tail).mul(scales).sub(shift))
                    .intoArray(s, row + j, tail);
            for (; j < count; j++) {
                sum += s[row + j];
            }
        }
        float inverse = 1f / sum;
        FloatVector inverses = FloatVector.broadcast(VectorMath.S, inverse);
        for (j = 0; j < vectorEnd; j += width) {
            FloatVector.fromArray(VectorMath.S, s, row + j).mul(inverses).intoArray(s, row + j);
        }
        for (; j < count; j++) {
            s[row + j] *= inverse;
        }
        Arrays.fill(s, row + count, row + seq, 0f);
    }

    /**
     * One row: dP[row .. row + count) into dS = P∘(dP − Σ P∘dP)·scale, and zeros after the query up
     * to the row's end (the key tiles of dSᵀ·Q read them).
     */
    private static void softmaxBackward(float[] d, int row, float[] p, int pRow, int count, int seq, float scale,
            float[] lanes) {
        int width = lanes.length;
        int vectorEnd = count - count % width;
        FloatVector sums = FloatVector.zero(VectorMath.S);
        int j = 0;
        for (; j < vectorEnd; j += width) {
            sums = FloatVector.fromArray(VectorMath.S, p, pRow + j).fma(FloatVector.fromArray(VectorMath.S, d, row + j),
                    sums);
        }
        float weighted = VectorMath.sum(sums, lanes);
        for (; j < count; j++) {
            weighted += p[pRow + j] * d[row + j];
        }
        FloatVector shift = FloatVector.broadcast(VectorMath.S, weighted);
        FloatVector scales = FloatVector.broadcast(VectorMath.S, scale);
        for (j = 0; j < vectorEnd; j += width) {
            FloatVector dp = FloatVector.fromArray(VectorMath.S, d, row + j).sub(shift);
            FloatVector.fromArray(VectorMath.S, p, pRow + j).mul(dp).mul(scales).intoArray(d, row + j);
        }
        for (; j < count; j++) {
            d[row + j] = p[pRow + j] * (d[row + j] - weighted) * scale;
        }
        Arrays.fill(d, row + count, row + seq, 0f);
    }
}
