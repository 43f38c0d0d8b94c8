package io.gradus.kernels.reference;

import io.gradus.api.kernel.Nf4DoubleQuant;
import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * NF4 weights (see {@code io.gradus.api.kernel.Nf4}): element i of a quantized tensor is
 * {@code code[q(i)] · absmax[i / blockSize]}, q(i) the high nibble of {@code packed[i / 2]} for even
 * i and the low nibble for odd i. The 16 code values come in as an array: a device kernel cannot
 * read a Java static. {@code accumulate} is 1 to add to C, 0 to overwrite it.
 *
 * <p>With double quantization ({@code io.gradus.api.kernel.Nf4DoubleQuant}) the scale of block b
 * is decoded where it is used, {@code map[absmax[b]] · nested[b / 256] + offset}, so a device holds
 * only the 8-bit form; {@code map} is the 256-value dynamic map, again an argument.
 */
public final class Nf4Kernels {

    private Nf4Kernels() {}

    /** The 4-bit code of element i. */
    static int code4(byte[] packed, int i) {
        // Shift the signed byte, then mask: the same nibble for every byte value. (Masking with 0xFF
        // first is folded by Graal into a zero-extension that TornadoVM's OpenCL code generator
        // emits as a signed char, which sends bytes ≥ 0x80 to negative indices.)
        int pair = packed[i / 2];
        return (i & 1) == 0 ? (pair >> 4) & 0xF : pair & 0xF;
    }

    /** Element i of the quantized tensor. */
    public static float weight(byte[] packed, float[] absmax, float[] code, int blockSize, int i) {
        return code[code4(packed, i)] * absmax[i / blockSize];
    }

    /**
     * The float scale of block b from its 8-bit form: {@code map[absmax[b]] · nested[b / 256] +
     * offset}, rounded after the product and after the sum, as bitsandbytes decodes it.
     */
    public static float scale(byte[] absmax, float[] nested, float[] map, float offset, int b) {
        // The byte as an unsigned index from its two nibbles, for the reason given in code4.
        int v = absmax[b];
        int q = (((v >> 4) & 0xF) << 4) | (v & 0xF);
        return map[q] * nested[b / Nf4DoubleQuant.NESTED_BLOCK_SIZE] + offset;
    }

    /** Element i of a double-quantized tensor. */
    public static float weightDoubleQuant(byte[] packed, byte[] absmax, float[] nested, float[] code, float[] map,
            float offset, int blockSize, int i) {
        return code[code4(packed, i)] * scale(absmax, nested, map, offset, i / blockSize);
    }

    /** Scales [from, to) decoded from their 8-bit form into {@code out}. */
    public static void dequantizeScales(float[] out, byte[] absmax, float[] nested, float[] map, float offset, int from,
            int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            out[from + at] = scale(absmax, nested, map, offset, from + at);
        }
    }

    /** Elements [from, to) of a double-quantized tensor. */
    public static void dequantizeDoubleQuant(float[] out, byte[] packed, byte[] absmax, float[] nested, float[] code,
            float[] map, float offset, int blockSize, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            out[i] = weightDoubleQuant(packed, absmax, nested, code, map, offset, blockSize, i);
        }
    }

    /** Elements [from, to): out[i] = code[q(i)]·absmax[i / blockSize]. */
    public static void dequantize(float[] out, byte[] packed, float[] absmax, float[] code, int blockSize, int from,
            int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            out[i] = weight(packed, absmax, code, blockSize, i);
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · W[n,k]ᵀ, W in NF4. */
    public static void matmulAbt(float[] c, float[] a, byte[] packed, float[] absmax, float[] code, int blockSize,
            int n, int k, int accumulate, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            for (int j = 0; j < n; j++) {
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum += a[i * k + p] * weight(packed, absmax, code, blockSize, j * k + p);
                }
                c[i * n + j] = accumulate != 0 ? c[i * n + j] + sum : sum;
            }
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · W[k,n], W in NF4. */
    public static void matmulAb(float[] c, float[] a, byte[] packed, float[] absmax, float[] code, int blockSize,
            int n, int k, int accumulate, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            for (int j = 0; j < n; j++) {
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum += a[i * k + p] * weight(packed, absmax, code, blockSize, p * n + j);
                }
                c[i * n + j] = accumulate != 0 ? c[i * n + j] + sum : sum;
            }
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · W[n,k]ᵀ, W in NF4 with double-quantized scales. */
    public static void matmulAbtDoubleQuant(float[] c, float[] a, byte[] packed, byte[] absmax, float[] nested,
            float[] code, float[] map, float offset, int blockSize, int n, int k, int accumulate, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            for (int j = 0; j < n; j++) {
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum += a[i * k + p] * weightDoubleQuant(packed, absmax, nested, code, map, offset, blockSize, j * k + p);
                }
                c[i * n + j] = accumulate != 0 ? c[i * n + j] + sum : sum;
            }
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · W[k,n], W in NF4 with double-quantized scales. */
    public static void matmulAbDoubleQuant(float[] c, float[] a, byte[] packed, byte[] absmax, float[] nested,
            float[] code, float[] map, float offset, int blockSize, int n, int k, int accumulate, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            for (int j = 0; j < n; j++) {
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum += a[i * k + p] * weightDoubleQuant(packed, absmax, nested, code, map, offset, blockSize, p * n + j);
                }
                c[i * n + j] = accumulate != 0 ? c[i * n + j] + sum : sum;
            }
        }
    }
}
