package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * NF4 weights (see {@code io.gradus.api.kernel.Nf4}): element i of a quantized tensor is
 * {@code code[q(i)] · absmax[i / blockSize]}, q(i) the high nibble of {@code packed[i / 2]} for even
 * i and the low nibble for odd i. The 16 code values come in as an array: a device kernel cannot
 * read a Java static.
 */
public final class Nf4Kernels {

    private Nf4Kernels() {}

    /** Element i of the quantized tensor. */
    public static float weight(byte[] packed, float[] absmax, float[] code, int blockSize, int i) {
        int pair = packed[i / 2] & 0xFF;
        int q = (i & 1) == 0 ? pair >> 4 : pair & 0xF;
        return code[q] * absmax[i / blockSize];
    }

    /** Elements [from, to): out[i] = code[q(i)]·absmax[i / blockSize]. */
    public static void dequantize(float[] out, byte[] packed, float[] absmax, float[] code, int blockSize, int from,
            int to) {
        for (@Parallel int i = from; i < to; i++) {
            out[i] = weight(packed, absmax, code, blockSize, i);
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · W[n,k]ᵀ, W in NF4. */
    public static void matmulAbt(float[] c, float[] a, byte[] packed, float[] absmax, float[] code, int blockSize,
            int n, int k, boolean accumulate, int from, int to) {
        for (@Parallel int i = from; i < to; i++) {
            for (int j = 0; j < n; j++) {
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum += a[i * k + p] * weight(packed, absmax, code, blockSize, j * k + p);
                }
                c[i * n + j] = accumulate ? c[i * n + j] + sum : sum;
            }
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · W[k,n], W in NF4. */
    public static void matmulAb(float[] c, float[] a, byte[] packed, float[] absmax, float[] code, int blockSize,
            int n, int k, boolean accumulate, int from, int to) {
        for (@Parallel int i = from; i < to; i++) {
            for (int j = 0; j < n; j++) {
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum += a[i * k + p] * weight(packed, absmax, code, blockSize, p * n + j);
                }
                c[i * n + j] = accumulate ? c[i * n + j] + sum : sum;
            }
        }
    }
}
