package io.gradus.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products with the Vector API, register-blocked. Each method computes rows [from, to) of
 * C, so the backend can split rows over threads; results equal the reference kernels up to the
 * order of float additions.
 *
 * <p>Two micro-kernels cover the three layouts: for A·Bᵀ every output is a dot product of two
 * contiguous rows (4×4 outputs share their loads); for A·B and Aᵀ·B each output row is a sum of
 * scaled rows of B (4 rows × 2 vectors of C stay in registers over the whole shared dimension).
 */
final class VectorMatmul {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorMatmul() {}

    /** Whether rows of {@code n} outputs are too short for the row-vector kernels (under two vectors). */
    static boolean narrow(int n) {
        return n < 2 * L;
    }

    /** Rows [from, to) of C[m,n] (+)= A[m,k] · B[n,k]ᵀ. */
    static void abt(float[] c, float[] a, float[] b, int n, int k, boolean accumulate, int from, int to) {
        int kv = k - k % L;
        int i = from;
        for (; i + 4 <= to; i += 4) {
            int j = 0;
            for (; j + 4 <= n; j += 4) {
                dot4x4(c, a, b, n, k, kv, i, j, accumulate);
            }
            for (; j < n; j++) {
                for (int r = i; r < i + 4; r++) {
                    store(c, r * n + j, dot(a, r * k, b, j * k, k, kv), accumulate);
                }
            }
        }
        for (; i < to; i++) {
            for (int j = 0; j < n; j++) {
                store(c, i * n + j, dot(a, i * k, b, j * k, k, kv), accumulate);
            }
        }
    }

    private static void dot4x4(float[] c, float[] a, float[] b, int n, int k, int kv, int i, int j, boolean accumulate) {
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
        int b0 = j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s03 = s00;
        FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00;
        FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        for (int p = 0; p < kv; p += L) {
            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p);
            FloatVector x1 = FloatVector.fromArray(S, a, a1 + p);
            FloatVector x2 = FloatVector.fromArray(S, a, a2 + p);
            FloatVector x3 = FloatVector.fromArray(S, a, a3 + p);
            FloatVector y = FloatVector.fromArray(S, b, b0 + p);
            s00 = x0.fma(y, s00);
            s10 = x1.fma(y, s10);
            s20 = x2.fma(y, s20);
            s30 = x3.fma(y, s30);
            y = FloatVector.fromArray(S, b, b1 + p);
            s01 = x0.fma(y, s01);
            s11 = x1.fma(y, s11);
            s21 = x2.fma(y, s21);
            s31 = x3.fma(y, s31);
            y = FloatVector.fromArray(S, b, b2 + p);
            s02 = x0.fma(y, s02);
            s12 = x1.fma(y, s12);
            s22 = x2.fma(y, s22);
            s32 = x3.fma(y, s32);
            y = FloatVector.fromArray(S, b, b3 + p);
            s03 = x0.fma(y, s03);
            s13 = x1.fma(y, s13);
            s23 = x2.fma(y, s23);
            s33 = x3.fma(y, s33);
        }
        // No arrays of vectors here: they would force the vectors onto the heap and defeat the JIT.
        float[] lanes = new float[L];
        int c0 = i * n + j;
        emit(c, c0, s00, a, a0, b, b0, kv, k, lanes, accumulate);
        emit(c, c0 + 1, s01, a, a0, b, b1, kv, k, lanes, accumulate);
        emit(c, c0 + 2, s02, a, a0, b, b2, kv, k, lanes, accumulate);
        emit(c, c0 + 3, s03, a, a0, b, b3, kv, k, lanes, accumulate);
        emit(c, c0 + n, s10, a, a1, b, b0, kv, k, lanes, accumulate);
        emit(c, c0 + n + 1, s11, a, a1, b, b1, kv, k, lanes, accumulate);
        emit(c, c0 + n + 2, s12, a, a1, b, b2, kv, k, lanes, accumulate);
        emit(c, c0 + n + 3, s13, a, a1, b, b3, kv, k, lanes, accumulate);
        emit(c, c0 + 2 * n, s20, a, a2, b, b0, kv, k, lanes, accumulate);
        emit(c, c0 + 2 * n + 1, s21, a, a2, b, b1, kv, k, lanes, accumulate);
        emit(c, c0 + 2 * n + 2, s22, a, a2, b, b2, kv, k, lanes, accumulate);
        emit(c, c0 + 2 * n + 3, s23, a, a2, b, b3, kv, k, lanes, accumulate);
        emit(c, c0 + 3 * n, s30, a, a3, b, b0, kv, k, lanes, accumulate);
        emit(c, c0 + 3 * n + 1, s31, a, a3, b, b1, kv, k, lanes, accumulate);
        emit(c, c0 + 3 * n + 2, s32, a, a3, b, b2, kv, k, lanes, accumulate);
        emit(c, c0 + 3 * n + 3, s33, a, a3, b, b3, kv, k, lanes, accumulate);
    }

    /** Finishes one dot product: the lanes of {@code sum}, plus the scalar tail past {@code kv}. */
    private static void emit(float[] c, int index, FloatVector sum, float[] a, int aBase, float[] b, int bBase, int kv,
            int k, float[] lanes, boolean accumulate) {
        float total = horizontalSum(sum, lanes);
        for (int p = kv; p < k; p++) {
            total += a[aBase + p] * b[bBase + p];
        }
        store(c, index, total, accumulate);
    }

    private static float dot(float[] a, int aBase, float[] b, int bBase, int k, int kv) {
        FloatVector acc = FloatVector.zero(S);
        for (int p = 0; p < kv; p += L) {
            acc = FloatVector.fromArray(S, a, aBase + p).fma(FloatVector.fromArray(S, b, bBase + p), acc);
        }
        float sum = horizontalSum(acc, new float[L]);
        for (int p = kv; p < k; p++) {
            sum += a[aBase + p] * b[bBase + p];
        }
        return sum;
    }

    /**
     * The sum of a vector's lanes, in lane order. Not {@code reduceLanes(ADD)}: its order of
     * additions differs between the interpreter and compiled code, which would make results depend
     * on JIT timing, and training runs must be exactly reproducible (checkpoint resume).
     */
    private static float horizontalSum(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        float sum = 0f;
        for (float lane : lanes) {
            sum += lane;
        }
        return sum;
    }

    private static void store(float[] c, int index, float value, boolean accumulate) {
        c[index] = accumulate ? c[index] + value : value;
    }

    /**
     * Rows [from, to) of C[m,n] (+)= op(A) · B[k,n], where op(A)[i,p] = a[i·strideI + p·strideP]:
     * strides (k, 1) for A[m,k] (layout AB) and (1, m) for A[k,m] read transposed (layout ATB).
     */
    static void axpyRows(float[] c, float[] a, float[] b, int n, int k, int strideI, int strideP, boolean accumulate,
            int from, int to) {
        int nv = n - n % (2 * L);
        int i = from;
        for (; i + 4 <= to; i += 4) {
            int j = 0;
            for (; j < nv; j += 2 * L) {
                rows4(c, a, b, n, k, strideI, strideP, accumulate, i, j);
            }
            for (; j < n; j++) {
                for (int r = i; r < i + 4; r++) {
                    store(c, r * n + j, column(a, b, n, k, strideI, strideP, r, j), accumulate);
                }
            }
        }
        for (; i < to; i++) {
            int j = 0;
            for (; j < nv; j += 2 * L) {
                FloatVector c0 = accumulate ? FloatVector.fromArray(S, c, i * n + j) : FloatVector.zero(S);
                FloatVector c1 = accumulate ? FloatVector.fromArray(S, c, i * n + j + L) : FloatVector.zero(S);
                for (int p = 0; p < k; p++) {
                    FloatVector x = FloatVector.broadcast(S, a[i * strideI + p * strideP]);
                    c0 = x.fma(FloatVector.fromArray(S, b, p * n + j), c0);
                    c1 = x.fma(FloatVector.fromArray(S, b, p * n + j + L), c1);
                }
                c0.intoArray(c, i * n + j);
                c1.intoArray(c, i * n + j + L);
            }
            for (; j < n; j++) {
                store(c, i * n + j, column(a, b, n, k, strideI, strideP, i, j), accumulate);
            }
        }
    }

    private static void rows4(float[] c, float[] a, float[] b, int n, int k, int strideI, int strideP,
            boolean accumulate, int i, int j) {
        int c0 = i * n + j, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        FloatVector z = FloatVector.zero(S);
        FloatVector r00 = accumulate ? FloatVector.fromArray(S, c, c0) : z;
        FloatVector r01 = accumulate ? FloatVector.fromArray(S, c, c0 + L) : z;
        FloatVector r10 = accumulate ? FloatVector.fromArray(S, c, c1) : z;
        FloatVector r11 = accumulate ? FloatVector.fromArray(S, c, c1 + L) : z;
        FloatVector r20 = accumulate ? FloatVector.fromArray(S, c, c2) : z;
        FloatVector r21 = accumulate ? FloatVector.fromArray(S, c, c2 + L) : z;
        FloatVector r30 = accumulate ? FloatVector.fromArray(S, c, c3) : z;
        FloatVector r31 = accumulate ? FloatVector.fromArray(S, c, c3 + L) : z;
        for (int p = 0; p < k; p++) {
            FloatVector y0 = FloatVector.fromArray(S, b, p * n + j);
            FloatVector y1 = FloatVector.fromArray(S, b, p * n + j + L);
            int ap = p * strideP;
            FloatVector x = FloatVector.broadcast(S, a[i * strideI + ap]);
            r00 = x.fma(y0, r00);
            r01 = x.fma(y1, r01);
            x = FloatVector.broadcast(S, a[(i + 1) * strideI + ap]);
            r10 = x.fma(y0, r10);
            r11 = x.fma(y1, r11);
            x = FloatVector.broadcast(S, a[(i + 2) * strideI + ap]);
            r20 = x.fma(y0, r20);
            r21 = x.fma(y1, r21);
            x = FloatVector.broadcast(S, a[(i + 3) * strideI + ap]);
            r30 = x.fma(y0, r30);
            r31 = x.fma(y1, r31);
        }
        r00.intoArray(c, c0);
        r01.intoArray(c, c0 + L);
        r10.intoArray(c, c1);
        r11.intoArray(c, c1 + L);
        r20.intoArray(c, c2);
        r21.intoArray(c, c2 + L);
        r30.intoArray(c, c3);
        r31.intoArray(c, c3 + L);
    }

    private static float column(float[] a, float[] b, int n, int k, int strideI, int strideP, int i, int j) {
        float sum = 0f;
        for (int p = 0; p < k; p++) {
            sum += a[i * strideI + p * strideP] * b[p * n + j];
        }
        return sum;
    }
}
