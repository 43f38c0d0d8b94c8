package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * Matrix products over row-major flat arrays, one output row per outer iteration (the loop a GPU
 * backend runs in parallel). Sums are accumulated in float, in order of the shared dimension.
 * {@code accumulate} is 1 to add the product to C and 0 to overwrite C (an int: OpenCL kernels take
 * no boolean arguments).
 */
public final class MatmulKernels {

    private MatmulKernels() {}

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · B[k,n]. */
    public static void ab(float[] c, float[] a, float[] b, int n, int k, int accumulate, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            int ci = i * n;
            if (accumulate == 0) {
                for (int j = 0; j < n; j++) {
                    c[ci + j] = 0f;
                }
            }
            for (int p = 0; p < k; p++) {
                float aip = a[i * k + p];
                int bp = p * n;
                for (int j = 0; j < n; j++) {
                    c[ci + j] += aip * b[bp + j];
                }
            }
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · B[n,k]ᵀ. */
    public static void abt(float[] c, float[] a, float[] b, int n, int k, int accumulate, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            int ai = i * k;
            for (int j = 0; j < n; j++) {
                int bj = j * k;
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum += a[ai + p] * b[bj + p];
                }
                c[i * n + j] = accumulate != 0 ? c[i * n + j] + sum : sum;
            }
        }
    }

    /** Rows [from, to) of C[m,n] (+)= A[k,m]ᵀ · B[k,n]. */
    public static void atb(float[] c, float[] a, float[] b, int m, int n, int k, int accumulate, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            int ci = i * n;
            if (accumulate == 0) {
                for (int j = 0; j < n; j++) {
                    c[ci + j] = 0f;
                }
            }
            for (int p = 0; p < k; p++) {
                float api = a[p * m + i];
                int bp = p * n;
                for (int j = 0; j < n; j++) {
                    c[ci + j] += api * b[bp + j];
                }
            }
        }
    }
}
