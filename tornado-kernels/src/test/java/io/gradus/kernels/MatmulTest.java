package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.kernel.MatmulLayout;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.MatmulKernels;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MatmulTest {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    @ParameterizedTest(name = "{0} {1}x{2}x{3} accumulate={4}")
    @CsvSource({
        "AB, 37, 45, 29, false", "AB, 64, 96, 128, true", "AB, 3, 5, 7, true",
        "ABT, 37, 45, 29, false", "ABT, 64, 96, 128, true", "ABT, 1, 33, 17, false",
        "ATB, 37, 45, 29, false", "ATB, 64, 96, 128, true", "ATB, 6, 31, 2, true",
        "AB, 130, 8, 64, false", "ATB, 64, 8, 130, true", "AB, 9, 3, 17, true", "ATB, 5, 16, 33, false",
        "ABT, 64, 8, 130, false", "ABT, 70, 96, 8, true", "ATB, 37, 5, 11, true"})
    @DisplayName("the vectorised CPU matmul equals the reference kernel and a double-precision product")
    void matchesReference(MatmulLayout layout, int m, int n, int k, boolean accumulate) {
        Random random = new Random(m * 1000 + n * 10 + k);
        float[] a = randoms(random, m * k);
        float[] b = randoms(random, k * n);
        float[] start = randoms(random, m * n);
        float[] cpuOut = start.clone();
        float[] refOut = start.clone();

        cpu.matmul(layout, cpuOut, a, b, m, n, k, accumulate);
        int flag = accumulate ? 1 : 0;
        switch (layout) {
            case AB -> MatmulKernels.ab(refOut, a, b, n, k, flag, 0, m);
            case ABT -> MatmulKernels.abt(refOut, a, b, n, k, flag, 0, m);
            case ATB -> MatmulKernels.atb(refOut, a, b, m, n, k, flag, 0, m);
        }
        double maxCpu = 0;
        double maxRef = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = accumulate ? start[i * n + j] : 0;
                for (int p = 0; p < k; p++) {
                    double x = switch (layout) {
                        case AB, ABT -> a[i * k + p];
                        case ATB -> a[p * m + i];
                    };
                    double y = layout == MatmulLayout.ABT ? b[j * k + p] : b[p * n + j];
                    exact += x * y;
                }
                maxCpu = Math.max(maxCpu, Math.abs(cpuOut[i * n + j] - exact));
                maxRef = Math.max(maxRef, Math.abs(refOut[i * n + j] - exact));
            }
        }
        // Float sums of k products of O(1) values: rounding grows like sqrt(k)·eps; 1e-5·k is ample.
        assertThat(maxCpu).as("CPU vs exact").isLessThan(1e-5 * k);
        assertThat(maxRef).as("reference vs exact").isLessThan(1e-5 * k);
    }

    private static float[] randoms(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
