package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/** Element-wise kernels over index ranges [from, to): residual adds and the SwiGLU gate. */
public final class ElementwiseKernels {

    private ElementwiseKernels() {}

    /** y[i] += x[i]. */
    public static void add(float[] y, float[] x, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            y[i] += x[i];
        }
    }

    /** h = silu(g)·u, silu(g) = g·σ(g). */
    public static void swigluForward(float[] h, float[] g, float[] u, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            float sigmoid = 1f / (1f + (float) Math.exp(-g[i]));
            h[i] = g[i] * sigmoid * u[i];
        }
    }

    /** du = dh·silu(g); dg = dh·u·σ(g)·(1 + g·(1 − σ(g))), the derivative of g·σ(g). */
    public static void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            float sigmoid = 1f / (1f + (float) Math.exp(-g[i]));
            float silu = g[i] * sigmoid;
            du[i] = dh[i] * silu;
            dg[i] = dh[i] * u[i] * sigmoid * (1f + g[i] * (1f - sigmoid));
        }
    }

    /**
     * Inverted dropout over [from, to): keeps x[i]/(1−p) when the uniform number of element i,
     * SplitMix64(seed + i) mapped to [0, 1), is at least p.
     */
    public static void dropout(float[] out, float[] x, float p, long seed, int from, int to) {
        float scale = 1f / (1f - p);
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            out[i] = dropoutElement(x, i, p, scale, seed);
        }
    }

    /** Element i of {@link #dropout}, shared with kernels that read p and the seed from arrays. */
    public static float dropoutElement(float[] x, int i, float p, float scale, long seed) {
        // SplitMix64's finalizer. Each unsigned shift z >>> s is written (z >> s) & (2^(64−s) − 1),
        // the same value: TornadoVM's OpenCL code generator emits >>> on a long as a signed shift.
        long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ ((z >> 30) & 0x3FFFFFFFFL)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ ((z >> 27) & 0x1FFFFFFFFFL)) * 0x94D049BB133111EBL;
        z = z ^ ((z >> 31) & 0x1FFFFFFFFL);
        double uniform = ((z >> 11) & 0x1FFFFFFFFFFFFFL) * 0x1.0p-53;
        return uniform >= p ? x[i] * scale : 0f;
    }
}
