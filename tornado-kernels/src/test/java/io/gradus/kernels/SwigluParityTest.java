package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.ElementwiseKernels;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SwigluParityTest {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    @Test
    @DisplayName("the vectorised SwiGLU forward and backward agree with the reference kernels")
    void matchesReference() {
        int n = 100_003; // not a multiple of any vector length: the scalar tail runs too
        Random random = new Random(5);
        float[] g = new float[n];
        float[] u = new float[n];
        float[] dh = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) random.nextGaussian() * 4;
            u[i] = (float) random.nextGaussian();
            dh[i] = (float) random.nextGaussian();
        }
        float[] h = new float[n];
        float[] refH = new float[n];
        cpu.swigluForward(h, g, u, n);
        ElementwiseKernels.swigluForward(refH, g, u, 0, n);
        float[] dg = new float[n];
        float[] du = new float[n];
        float[] refDg = new float[n];
        float[] refDu = new float[n];
        cpu.swigluBackward(dg, du, dh, g, u, n);
        ElementwiseKernels.swigluBackward(refDg, refDu, dh, g, u, 0, n);

        // σ from a 2-ulp e^x in float against Math.exp in double: a few float ulps of each value.
        for (int i = 0; i < n; i++) {
            assertThat(h[i]).as("h[%d]", i).isCloseTo(refH[i], within(1e-6f * Math.max(1f, Math.abs(refH[i]))));
            assertThat(dg[i]).as("dg[%d]", i).isCloseTo(refDg[i], within(1e-6f * Math.max(1f, Math.abs(refDg[i]))));
            assertThat(du[i]).as("du[%d]", i).isCloseTo(refDu[i], within(1e-6f * Math.max(1f, Math.abs(refDu[i]))));
        }
    }
}
