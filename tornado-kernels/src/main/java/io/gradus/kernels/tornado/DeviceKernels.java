package io.gradus.kernels.tornado;

import io.gradus.kernels.reference.ElementwiseKernels;
import io.gradus.kernels.reference.LossKernels;
import io.gradus.kernels.reference.OptimizerKernels;
import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * Device twins of the reference kernels whose scalar arguments change from call to call. A TaskGraph
 * captures scalars when it is built, so a kernel fed a new learning rate, seed, clipping factor or
 * loss scale each step would
 * need a new graph (and a new compilation) each step; these read them from small arrays instead,
 * which are copied in with the call. The per-element arithmetic is the reference kernels' own.
 */
public final class DeviceKernels {

    private DeviceKernels() {}

    /**
     * {@link OptimizerKernels#adamw} with {@code hyper} = {lr, β1, β2, eps, weightDecay,
     * biasCorrection1, biasCorrection2}.
     */
    public static void adamw(float[] p, float[] g, float[] m, float[] v, float[] hyper, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            OptimizerKernels.adamwElement(p, g, m, v, i, hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], hyper[5],
                    hyper[6]);
        }
    }

    /** {@link ElementwiseKernels#dropout} with {@code rate} = {p, 1/(1−p)} and {@code seed} = {seed}. */
    public static void dropout(float[] out, float[] x, float[] rate, long[] seed, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            out[i] = ElementwiseKernels.dropoutElement(x, i, rate[0], rate[1], seed[0]);
        }
    }

    /** {@link LossKernels#crossEntropyRows} with {@code gradScale} = {scale}. */
    public static void crossEntropyRows(float[] logits, int vocab, int[] targets, float[] rowLoss, float[] dLogits,
            float[] gradScale, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            LossKernels.crossEntropyRow(logits, vocab, targets, rowLoss, dLogits, gradScale[0], from + at);
        }
    }

    /** {@link OptimizerKernels#scale} with {@code factor} = {factor} (gradient clipping changes it every step). */
    public static void scale(float[] x, float[] factor, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            x[from + at] *= factor[0];
        }
    }
}
