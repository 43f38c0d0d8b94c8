package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DropoutTest {

    @Test
    @DisplayName("drops a fraction p, scales the rest by 1/(1-p), and repeats exactly for the same seed on any thread count")
    void dropout() {
        int n = 200_000;
        float[] x = new float[n];
        Arrays.fill(x, 2f);
        float[] a = new float[n];
        float[] b = new float[n];
        new CpuKernelBackend(new ForkJoinPool(2)).dropout(a, x, n, 0.25f, 42);
        new CpuKernelBackend(new ForkJoinPool(1)).dropout(b, x, n, 0.25f, 42);

        long dropped = 0;
        for (float v : a) {
            if (v == 0f) {
                dropped++;
            } else {
                assertThat(v).isEqualTo(2f / 0.75f);
            }
        }
        // Binomial(200000, 0.25): standard deviation ~194, so ±1% is over 10 sigma.
        assertThat((double) dropped / n).isCloseTo(0.25, within(0.01));
        assertThat(b).containsExactly(a);
        float[] other = new float[n];
        new CpuKernelBackend(new ForkJoinPool(2)).dropout(other, x, n, 0.25f, 43);
        assertThat(other).isNotEqualTo(a);
    }
}
