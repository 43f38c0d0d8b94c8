package io.gradus.api.kernel;

import java.util.Arrays;
import java.util.List;

/**
 * The 4-bit NormalFloat format of QLoRA (Dettmers et al. 2023), bit-compatible with bitsandbytes'
 * {@code quant_type="nf4"}: weights are split into blocks of {@code blockSize} consecutive elements
 * (64 by default); each block keeps its absolute maximum as a float scale, and each element the
 * index of the nearest of 16 code values to {@code x / absmax}. Two indices share a byte, the
 * element with the even index in the high nibble.
 *
 * @param packed (n + 1) / 2 bytes of 4-bit codes
 * @param absmax one scale per block, ⌈n / blockSize⌉ of them
 * @param n number of elements
 * @param blockSize elements per scale
 */
public record Nf4(byte[] packed, float[] absmax, int n, int blockSize) implements Nf4Tensor {

    /** Index of the code value 0.0. */
    private static final int ZERO_CODE = 7;

    /** Block size of QLoRA and bitsandbytes' default. */
    public static final int DEFAULT_BLOCK_SIZE = 64;

    /** The block sizes bitsandbytes' {@code quantize_4bit} accepts, smallest first. */
    public static final List<Integer> BLOCK_SIZES = List.of(32, 64, 128, 256, 512, 1024, 2048, 4096);

    /**
     * The 16 code values: quantiles of a standard normal distribution scaled to [-1, 1], with an
     * exact zero (bitsandbytes' table, to the float).
     */
    private static final float[] CODE = {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    };

    public Nf4 {
        if (blockSize <= 0 || n < 0) {
            throw new IllegalArgumentException("NF4: block size must be positive and n non-negative, got "
                    + blockSize + " and " + n);
        }
        if (packed.length != (n + 1) / 2 || absmax.length != blocks(n, blockSize)) {
            throw new IllegalArgumentException("NF4: " + n + " elements in blocks of " + blockSize + " need "
                    + (n + 1) / 2 + " bytes and " + blocks(n, blockSize) + " scales, got " + packed.length
                    + " and " + absmax.length);
        }
    }

    /** A copy of the 16 code values, in code order (the kernels take them as an argument). */
    public static float[] code() {
        return CODE.clone();
    }

    /** Number of scales for n elements. */
    public static int blocks(int n, int blockSize) {
        return (n + blockSize - 1) / blockSize;
    }

    /**
     * Quantizes {@code x} as bitsandbytes does: per block, absmax = max |x|, each element scaled by
     * 1/absmax, clamped to [-1, 1] and mapped to the nearest code value (the lower code on a tie).
     * An all-zero block keeps absmax 0 and code 7 (the exact zero); an odd count's unused last
     * nibble is 7 too.
     */
    public static Nf4 quantize(float[] x, int blockSize) {
        int n = x.length;
        float[] absmax = new float[blocks(n, blockSize)];
        byte[] packed = new byte[(n + 1) / 2];
        for (int blk = 0; blk < absmax.length; blk++) {
            int from = blk * blockSize;
            int to = Math.min(n, from + blockSize);
            float max = 0f;
            for (int i = from; i < to; i++) {
                max = Math.max(max, Math.abs(x[i]));
            }
            absmax[blk] = max;
            float inverse = max == 0f ? 0f : 1f / max;
            for (int i = from; i < to; i++) {
                int q = nearest(Math.max(-1f, Math.min(1f, x[i] * inverse)));
                packed[i >> 1] |= (byte) ((i & 1) == 0 ? q << 4 : q);
            }
        }
        if ((n & 1) == 1) {
            packed[n >> 1] |= ZERO_CODE; // the unused low nibble holds the code of 0.0, as in bitsandbytes
        }
        return new Nf4(packed, absmax, n, blockSize);
    }

    /** The index of the code value nearest to v in [-1, 1]; ties go to the lower index. */
    static int nearest(float v) {
        int best = 0;
        float bestDistance = Math.abs(v - CODE[0]);
        for (int q = 1; q < CODE.length; q++) {
            float distance = Math.abs(v - CODE[q]);
            if (distance < bestDistance) {
                best = q;
                bestDistance = distance;
            }
        }
        return best;
    }

    /** Resident bytes per element: 4-bit codes plus one float scale per block. */
    @Override
    public double bytesPerElement() {
        return n == 0 ? 0 : (packed.length + 4.0 * absmax.length) / n;
    }

    /** The float scales: {@link #absmax()} itself. */
    @Override
    public float[] scales() {
        return absmax;
    }

    @Override
    public void dequantize(KernelBackend kernels, float[] out) {
        kernels.nf4Dequantize(out, packed, absmax, n, blockSize);
    }

    @Override
    public void matmul(KernelBackend kernels, MatmulLayout layout, float[] c, float[] a, int m, int n, int k,
            boolean accumulate) {
        kernels.nf4Matmul(layout, c, a, packed, absmax, blockSize, m, n, k, accumulate);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Nf4 that && n == that.n && blockSize == that.blockSize
                && Arrays.equals(packed, that.packed) && Arrays.equals(absmax, that.absmax);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(packed) + Arrays.hashCode(absmax)) + n;
    }

    @Override
    public String toString() {
        return "Nf4[n=" + n + ", blockSize=" + blockSize + "]";
    }
}
