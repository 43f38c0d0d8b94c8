package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * NF4 weights (see {@code io.gradus.api.kernel.Nf4}): element i of a quantized tensor is
 * {@code code[q(i)] · absmax[i / blockSize]}, q(i) the high nibble of {@code packed[i / 2]} for even
 * i and the low nibble for odd i. The 16 code values come in as an array: a device kernel cannot
 * read a Java static. {@code accumulate} is 1 to add to C, 0 to overwrite it.
 */
public final class Nf4Kernels {

    private Nf4Kernels() {}

    /** Element i of the quantized tensor. */
    public static float weight(byte[] packed, float[] absmax, float[] code, int blockSize, int i) {
        // Shift the signed byte, then mask: the same nibble for every byte value. (Masking with 0xFF
        // first is folded by Graal into a zero-extension that TornadoVM's OpenCL code generator
        // emits as a signed char, which sends bytes ≥ 0x80 to negative indices.)
        int pair = packed[i / 2];
        int q = (i & 1) == 0 ? (pair >> 4) & 0xF : pair & 0xF;
        return code[q] * absmax[i / blockSize];
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
}
