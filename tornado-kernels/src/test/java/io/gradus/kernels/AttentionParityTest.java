package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.AttentionKernels;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CPU backend's attention (per-head vectorised matrix products) against the reference kernels
 * (one scalar dot product at a time). Same formulas, other summation orders and the 1/√D folded
 * into Q before the product instead of after: the outputs agree to float rounding, a few 1e-6
 * relative to the largest output.
 */
class AttentionParityTest {

    private static final double TOLERANCE = 2e-5;

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    @ParameterizedTest(name = "batch {0}, seq {1}, heads {2}/{3}, head size {4}")
    @CsvSource({"2, 37, 4, 2, 16", "1, 64, 6, 2, 64", "3, 9, 3, 3, 5", "1, 130, 2, 1, 40"})
    @DisplayName("forward and backward equal the reference kernels")
    void matchesReference(int batch, int seq, int heads, int kvHeads, int headDim) {
        Random random = new Random(batch * 1000L + seq * 10L + heads);
        int qSize = batch * seq * heads * headDim;
        int kvSize = batch * seq * kvHeads * headDim;
        float[] q = randoms(random, qSize);
        float[] k = randoms(random, kvSize);
        float[] v = randoms(random, kvSize);
        float[] dOut = randoms(random, qSize);

        float[] out = new float[qSize];
        float[] att = new float[batch * heads * seq * seq];
        cpu.attentionForward(out, att, q, k, v, batch, seq, heads, kvHeads, headDim);
        float[] refOut = new float[qSize];
        float[] refAtt = new float[att.length];
        AttentionKernels.forward(refOut, refAtt, q, k, v, seq, heads, kvHeads, headDim, 0, batch * heads * seq);
        assertClose("out", out, refOut);
        assertClose("att", att, refAtt);

        float[] dq = randoms(random, qSize);
        float[] dk = randoms(random, kvSize);
        float[] dv = randoms(random, kvSize);
        float[] refDq = dq.clone();
        float[] refDk = dk.clone();
        float[] refDv = dv.clone();
        cpu.attentionBackward(dq, dk, dv, dOut, refAtt, q, k, v, batch, seq, heads, kvHeads, headDim);
        AttentionKernels.backward(refDq, refDk, refDv, dOut, refAtt, q, k, v, new float[batch * kvHeads * seq], seq,
                heads, kvHeads, headDim, 0, batch * kvHeads);
        assertClose("dq", dq, refDq);
        assertClose("dk", dk, refDk);
        assertClose("dv", dv, refDv);
    }

    private static void assertClose(String what, float[] actual, float[] expected) {
        double max = 0;
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
        }
        assertThat(diff / max).as("%s: max |diff| %s relative to max |value| %s", what, diff, max).isLessThan(TOLERANCE);
    }

    private static float[] randoms(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
