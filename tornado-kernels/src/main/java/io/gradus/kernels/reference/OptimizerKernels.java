package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/** Optimizer kernels over index ranges [from, to). */
public final class OptimizerKernels {

    private OptimizerKernels() {}

    /**
     * AdamW with decoupled weight decay, as {@code torch.optim.AdamW}: first p ·= 1 − lr·wd, then
     * p −= lr·m̂/(√v̂ + eps). {@code biasCorrection1} = 1 − β1^step, {@code biasCorrection2} = 1 − β2^step.
     */
    public static void adamw(float[] p, float[] g, float[] m, float[] v, float lr, float beta1, float beta2, float eps,
            float weightDecay, float biasCorrection1, float biasCorrection2, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            adamwElement(p, g, m, v, i, lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2);
        }
    }

    /** The AdamW update of element i (shared with kernels that read the hyperparameters from an array). */
    public static void adamwElement(float[] p, float[] g, float[] m, float[] v, int i, float lr, float beta1,
            float beta2, float eps, float weightDecay, float biasCorrection1, float biasCorrection2) {
        float grad = g[i];
        m[i] = beta1 * m[i] + (1f - beta1) * grad;
        v[i] = beta2 * v[i] + (1f - beta2) * grad * grad;
        float mHat = m[i] / biasCorrection1;
        float vHat = v[i] / biasCorrection2;
        p[i] = p[i] * (1f - lr * weightDecay) - lr * mHat / ((float) Math.sqrt(vHat) + eps);
    }

    /**
     * Blocks [from, to) of the partial sums of squares: partial[blk] = Σ x[i]² over
     * i in [blk·block, min(n, (blk+1)·block)), in double. Summing the partials in block order gives a
     * result that does not depend on how blocks were spread over threads.
     */
    public static void sumOfSquares(float[] x, double[] partial, int n, int block, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int blk = from + at;
            double sum = 0;
            int end = Math.min(n, (blk + 1) * block);
            for (int i = blk * block; i < end; i++) {
                sum += (double) x[i] * x[i];
            }
            partial[blk] = sum;
        }
    }

    /** x[i] *= factor. */
    public static void scale(float[] x, float factor, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            x[i] *= factor;
        }
    }
}
