package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * Element-wise non-linearities and their derivatives over index ranges [from, to), as PyTorch
 * defines them. {@code kind} is the ordinal of {@code io.gradus.api.kernel.Activation} (an int:
 * device kernels take no enums): {@value #RELU} relu, {@value #SILU} silu, {@value #GELU} gelu,
 * {@value #GELU_TANH} gelu with the tanh approximation. The transcendental parts are computed in
 * double and rounded once.
 */
public final class ActivationKernels {

    /** {@code max(x, 0)}. */
    public static final int RELU = 0;
    /** {@code x·σ(x)}. */
    public static final int SILU = 1;
    /** {@code x·Φ(x)}, Φ the standard normal distribution function. */
    public static final int GELU = 2;
    /** {@code ½x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}. */
    public static final int GELU_TANH = 3;

    private static final double SQRT_HALF = 0.7071067811865476;
    private static final double INV_SQRT_2PI = 0.3989422804014327;
    private static final double SQRT_2_OVER_PI = 0.7978845608028654;
    private static final double GELU_CUBIC = 0.044715;

    private ActivationKernels() {}

    /** out[i] = f(x[i]). */
    public static void forward(int kind, float[] out, float[] x, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            out[i] = value(kind, x[i]);
        }
    }

    /** dx[i] = dy[i]·f'(x[i]). */
    public static void backward(int kind, float[] dx, float[] dy, float[] x, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            dx[i] = dy[i] * derivative(kind, x[i]);
        }
    }

    /** f(v). */
    public static float value(int kind, float v) {
        double x = v;
        double y;
        if (kind == RELU) {
            y = x > 0 ? x : 0;
        } else if (kind == SILU) {
            y = x / (1 + Math.exp(-x));
        } else if (kind == GELU) {
            y = 0.5 * x * (1 + erf(x * SQRT_HALF));
        } else {
            y = 0.5 * x * (1 + tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)));
        }
        return (float) y;
    }

    /**
     * f'(v): relu 1 for v &gt; 0 else 0; silu σ·(1 + v·(1 − σ)); gelu Φ(v) + v·φ(v); gelu_tanh
     * ½(1 + t) + ½v·(1 − t²)·√(2/π)·(1 + 3·0.044715·v²) with t the tanh of its forward pass.
     */
    public static float derivative(int kind, float v) {
        double x = v;
        double d;
        if (kind == RELU) {
            d = x > 0 ? 1 : 0;
        } else if (kind == SILU) {
            double sigmoid = 1 / (1 + Math.exp(-x));
            d = sigmoid * (1 + x * (1 - sigmoid));
        } else if (kind == GELU) {
            d = 0.5 * (1 + erf(x * SQRT_HALF)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
        } else {
            double t = tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x);
        }
        return (float) d;
    }

    /**
     * erf(z) by Abramowitz &amp; Stegun 7.1.26 (absolute error below 1.5·10⁻⁷, under a float's
     * rounding of GELU's output): 1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^(−z²), t = 1/(1 + p·|z|),
     * odd in z. Only exp: device compilers have it everywhere, Java has no erf.
     */
    static double erf(double z) {
        double a = z < 0 ? -z : z;
        double t = 1 / (1 + 0.3275911 * a);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        double e = 1 - poly * Math.exp(-a * a);
        return z < 0 ? -e : e;
    }

    /** tanh(u) = 1 − 2/(e^(2u) + 1): only exp, and ±1 at the ends where e^(2u) overflows or vanishes. */
    static double tanh(double u) {
        return 1 - 2 / (Math.exp(2 * u) + 1);
    }
}
