package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.NormKernels;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NormParityTest {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    @ParameterizedTest(name = "{0} rows of {1}")
    @CsvSource({"300, 384", "17, 37", "64, 5"})
    @DisplayName("the vectorised RMSNorm agrees with the reference kernels; its weight gradient equals it exactly")
    void matchesReference(int rows, int dim) {
        Random random = new Random(rows * 31L + dim);
        float[] x = randoms(random, rows * dim);
        float[] weight = randoms(random, dim);
        float[] dOut = randoms(random, rows * dim);

        float[] out = new float[rows * dim];
        float[] rstd = new float[rows];
        float[] refOut = new float[rows * dim];
        float[] refRstd = new float[rows];
        cpu.rmsNormForward(out, rstd, x, weight, rows, dim, 1e-5f);
        NormKernels.rmsNormForward(refOut, refRstd, x, weight, dim, 1e-5f, 0, rows);
        // Sums of dim squares in lanes instead of in sequence: a few float ulps.
        assertClose(out, refOut, 1e-5f);
        assertClose(rstd, refRstd, 1e-5f);

        float[] dx = randoms(random, rows * dim);
        float[] refDx = dx.clone();
        float[] dWeight = randoms(random, dim);
        float[] refDWeight = dWeight.clone();
        cpu.rmsNormBackward(dx, dWeight, dOut, x, weight, refRstd, rows, dim);
        NormKernels.rmsNormBackward(refDx, dOut, x, weight, refRstd, dim, 0, rows);
        NormKernels.rmsNormWeightGradient(refDWeight, dOut, x, refRstd, rows, dim, 0, dim);
        assertClose(dx, refDx, 1e-5f);
        assertThat(dWeight).containsExactly(refDWeight);
    }

    private static void assertClose(float[] actual, float[] expected, float relative) {
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("[%d]", i).isCloseTo(expected[i], within(relative * Math.max(1f, Math.abs(expected[i]))));
        }
    }

    private static float[] randoms(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
