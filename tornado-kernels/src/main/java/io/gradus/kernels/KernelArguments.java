package io.gradus.kernels;

import io.gradus.api.kernel.Nf4;
import io.gradus.api.kernel.Nf4DoubleQuant;

/**
 * The argument checks every backend makes before it runs a kernel: kernels themselves index arrays
 * blindly (a device kernel cannot throw), so bad input must be refused here, in words.
 */
public final class KernelArguments {

    private KernelArguments() {}

    public static void crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] dLogits) {
        if (logits.length < (long) rows * vocab || targets.length < rows
                || (dLogits != null && dLogits.length < (long) rows * vocab)) {
            throw new IllegalArgumentException("logits: arrays too short for " + rows + " rows of " + vocab);
        }
        for (int r = 0; r < rows; r++) {
            if (targets[r] >= vocab) {
                throw new IllegalArgumentException(
                        "target " + targets[r] + " of row " + r + " is outside the vocabulary of " + vocab);
            }
        }
    }

    /** The arrays of {@code tokenLogProbs} (and its backward, whose per-row gradient is {@code perRow}). */
    public static void tokenLogProbs(float[] logits, int rows, int vocab, int[] targets, float[] perRow,
            float[] entropies) {
        crossEntropy(logits, rows, vocab, targets, null);
        if (perRow.length < rows || (entropies != null && entropies.length < rows)) {
            throw new IllegalArgumentException("tokenLogProbs: per-row arrays shorter than " + rows + " rows");
        }
    }

    public static void dropout(float p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), was " + p);
        }
    }

    public static void embedding(float[] table, int[] ids, int n, int dim) {
        for (int i = 0; i < n; i++) {
            if (ids[i] < 0 || ((long) ids[i] + 1) * dim > table.length) {
                throw new IllegalArgumentException("embedding: token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary of " + table.length / dim);
            }
        }
    }

    public static void adamwStep(int step) {
        if (step < 1) {
            throw new IllegalArgumentException("adamw: step is 1-based, was " + step);
        }
    }

    public static void nf4(byte[] packed, float[] absmax, int n, int blockSize) {
        if (blockSize <= 0 || packed.length < (n + 1) / 2 || absmax.length < Nf4.blocks(n, blockSize)) {
            throw new IllegalArgumentException("NF4: " + n + " elements in blocks of " + blockSize + " need "
                    + (n + 1) / 2 + " bytes and " + Nf4.blocks(Math.max(n, 0), Math.max(blockSize, 1))
                    + " scales, got " + packed.length + " and " + absmax.length);
        }
    }

    public static void nf4(byte[] packed, byte[] absmax, float[] nestedAbsmax, int n, int blockSize) {
        int blocks = Nf4.blocks(Math.max(n, 0), Math.max(blockSize, 1));
        int nested = Nf4.blocks(blocks, Nf4DoubleQuant.NESTED_BLOCK_SIZE);
        if (blockSize <= 0 || packed.length < (n + 1) / 2 || absmax.length < blocks || nestedAbsmax.length < nested) {
            throw new IllegalArgumentException("NF4 with double quantization: " + n + " elements in blocks of "
                    + blockSize + " need " + (n + 1) / 2 + " bytes, " + blocks + " 8-bit scales and " + nested
                    + " nested scales, got " + packed.length + ", " + absmax.length + " and " + nestedAbsmax.length);
        }
    }

    /** NF4 weights are frozen: there is no layout for their gradient. */
    public static IllegalArgumentException nf4WeightGradient() {
        return new IllegalArgumentException(
                "nf4Matmul: layout ATB would be the gradient of an NF4 weight, which is frozen; use AB or ABT");
    }
}
