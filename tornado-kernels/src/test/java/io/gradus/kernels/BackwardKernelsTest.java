package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Each backward kernel against central finite differences of its forward kernel: with a fixed
 * random projection r, L(x) = Σ r·forward(x), and backward(dOut = r) must give dL/dx.
 */
class BackwardKernelsTest {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));
    private final Random random = new Random(17);

    private float[] randoms(int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (scale * random.nextGaussian());
        }
        return x;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** max |analytic − numeric| over all elements of {@code x}, for L = Σ r·f(x). */
    private static double check(float[] x, float[] analytic, java.util.function.ToDoubleFunction<float[]> loss) {
        double h = 1e-2;
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            float saved = x[i];
            x[i] = (float) (saved + h);
            double up = loss.applyAsDouble(x);
            x[i] = (float) (saved - h);
            double down = loss.applyAsDouble(x);
            x[i] = saved;
            worst = Math.max(worst, Math.abs((up - down) / (2 * h) - analytic[i]));
        }
        return worst;
    }

    @Test
    @DisplayName("RMSNorm backward: input and weight gradients")
    void rmsNorm() {
        int rows = 3;
        int dim = 8;
        float[] x = randoms(rows * dim, 1);
        float[] w = randoms(dim, 1);
        float[] r = randoms(rows * dim, 1);
        float[] out = new float[rows * dim];
        float[] rstd = new float[rows];
        cpu.rmsNormForward(out, rstd, x, w, rows, dim, 1e-5f);
        float[] dx = new float[rows * dim];
        float[] dw = new float[dim];
        cpu.rmsNormBackward(dx, dw, r, x, w, rstd, rows, dim);
        var lossOfX = (java.util.function.ToDoubleFunction<float[]>) xs -> {
            cpu.rmsNormForward(out, rstd, xs, w, rows, dim, 1e-5f);
            return dot(out, r);
        };
        assertThat(check(x, dx, lossOfX)).as("dx").isLessThan(2e-3);
        var lossOfW = (java.util.function.ToDoubleFunction<float[]>) ws -> {
            cpu.rmsNormForward(out, rstd, x, ws, rows, dim, 1e-5f);
            return dot(out, r);
        };
        assertThat(check(w, dw, lossOfW)).as("dweight").isLessThan(2e-3);
    }

    @Test
    @DisplayName("SwiGLU backward: gate and up gradients")
    void swiglu() {
        int n = 20;
        float[] g = randoms(n, 2);
        float[] u = randoms(n, 1);
        float[] r = randoms(n, 1);
        float[] h = new float[n];
        float[] dg = new float[n];
        float[] du = new float[n];
        cpu.swigluBackward(dg, du, r, g, u, n);
        assertThat(check(g, dg, gs -> {
            cpu.swigluForward(h, gs, u, n);
            return dot(h, r);
        })).as("dgate").isLessThan(2e-3);
        assertThat(check(u, du, us -> {
            cpu.swigluForward(h, g, us, n);
            return dot(h, r);
        })).as("dup").isLessThan(2e-3);
    }

    @Test
    @DisplayName("RoPE: the inverse rotation undoes the rotation and is its gradient; norms are preserved")
    void rope() {
        int batch = 2;
        int seq = 5;
        int heads = 3;
        int d = 8;
        float[] cos = new float[seq * d / 2];
        float[] sin = new float[seq * d / 2];
        for (int t = 0; t < seq; t++) {
            for (int i = 0; i < d / 2; i++) {
                double angle = t * Math.pow(10000, -2.0 * i / d);
                cos[t * d / 2 + i] = (float) Math.cos(angle);
                sin[t * d / 2 + i] = (float) Math.sin(angle);
            }
        }
        float[] x = randoms(batch * seq * heads * d, 1);
        float[] y = x.clone();
        cpu.rope(y, cos, sin, batch, seq, heads, d, false);
        assertThat(dot(y, y)).isCloseTo(dot(x, x), org.assertj.core.api.Assertions.within(1e-3));
        float[] back = y.clone();
        cpu.rope(back, cos, sin, batch, seq, heads, d, true);
        for (int i = 0; i < x.length; i++) {
            assertThat(back[i]).isCloseTo(x[i], org.assertj.core.api.Assertions.within(1e-5f));
        }
        float[] r = randoms(x.length, 1);
        float[] grad = r.clone();
        cpu.rope(grad, cos, sin, batch, seq, heads, d, true);
        assertThat(check(x, grad, xs -> {
            float[] z = xs.clone();
            cpu.rope(z, cos, sin, batch, seq, heads, d, false);
            return dot(z, r);
        })).as("rope gradient").isLessThan(2e-3);
    }

    @Test
    @DisplayName("causal GQA attention backward: q, k and v gradients")
    void attention() {
        int batch = 1;
        int seq = 4;
        int heads = 4;
        int kvHeads = 2;
        int d = 4;
        float[] q = randoms(batch * seq * heads * d, 1);
        float[] k = randoms(batch * seq * kvHeads * d, 1);
        float[] v = randoms(batch * seq * kvHeads * d, 1);
        float[] r = randoms(q.length, 1);
        float[] out = new float[q.length];
        float[] att = new float[batch * heads * seq * seq];
        cpu.attentionForward(out, att, q, k, v, batch, seq, heads, kvHeads, d);
        float[] dq = new float[q.length];
        float[] dk = new float[k.length];
        float[] dv = new float[v.length];
        cpu.attentionBackward(dq, dk, dv, r, att, q, k, v, batch, seq, heads, kvHeads, d);
        assertThat(check(q, dq, qs -> {
            cpu.attentionForward(out, att, qs, k, v, batch, seq, heads, kvHeads, d);
            return dot(out, r);
        })).as("dq").isLessThan(2e-3);
        assertThat(check(k, dk, ks -> {
            cpu.attentionForward(out, att, q, ks, v, batch, seq, heads, kvHeads, d);
            return dot(out, r);
        })).as("dk").isLessThan(2e-3);
        assertThat(check(v, dv, vs -> {
            cpu.attentionForward(out, att, q, k, vs, batch, seq, heads, kvHeads, d);
            return dot(out, r);
        })).as("dv").isLessThan(2e-3);
    }
}
