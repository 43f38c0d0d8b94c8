package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.LossKernels;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class TokenLogProbsTest {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    private static float[] gaussian(int n, double scale, long seed) {
        Random random = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * scale);
        }
        return x;
    }

    @Test
    @DisplayName("uniform logits: log p = −log V and entropy = log V; ignored rows give 0")
    void closedFormOnUniformLogits() {
        int rows = 3;
        int vocab = 37;
        float[] logits = new float[rows * vocab];
        Arrays.fill(logits, -1.25f);
        float[] logProbs = new float[rows];
        float[] entropies = new float[rows];

        cpu.tokenLogProbs(logits, rows, vocab, new int[] {0, -100, 36}, logProbs, entropies);

        assertThat((double) logProbs[0]).isCloseTo(-Math.log(vocab), within(1e-5));
        assertThat((double) logProbs[2]).isCloseTo(-Math.log(vocab), within(1e-5));
        assertThat((double) entropies[0]).isCloseTo(Math.log(vocab), within(1e-5));
        assertThat(logProbs[1]).isZero();
        assertThat(entropies[1]).isZero();
    }

    @Test
    @DisplayName("the entropy equals −Σ p·log p computed from the softmax in double")
    void entropyMatchesDefinition() {
        int rows = 5;
        int vocab = 19;
        float[] logits = gaussian(rows * vocab, 2, 3);
        int[] targets = {1, 2, 3, 4, 5};
        float[] logProbs = new float[rows];
        float[] entropies = new float[rows];
        cpu.tokenLogProbs(logits, rows, vocab, targets, logProbs, entropies);
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, logits[r * vocab + j]);
            }
            double z = 0;
            for (int j = 0; j < vocab; j++) {
                z += Math.exp(logits[r * vocab + j] - max);
            }
            double h = 0;
            for (int j = 0; j < vocab; j++) {
                double p = Math.exp(logits[r * vocab + j] - max) / z;
                h -= p * Math.log(p);
            }
            assertThat((double) entropies[r]).as("row %d", r).isCloseTo(h, within(1e-5));
            assertThat((double) logProbs[r]).isCloseTo(logits[r * vocab + targets[r]] - max - Math.log(z), within(1e-5));
        }
    }

    @Test
    @DisplayName("the backward pass matches central finite differences of Σ_r w_r·log p_r")
    void backwardMatchesFiniteDifferences() {
        int rows = 4;
        int vocab = 13;
        float[] logits = gaussian(rows * vocab, 2, 5);
        int[] targets = {3, -100, 12, 0};
        float[] weights = {0.7f, 5f, -1.3f, 2f};
        float[] dLogits = new float[rows * vocab];
        Arrays.fill(dLogits, 9f); // overwritten
        cpu.tokenLogProbsBackward(dLogits, logits, rows, vocab, targets, weights);

        double h = 1e-2;
        double maxError = 0;
        float[] logProbs = new float[rows];
        for (int i = 0; i < logits.length; i++) {
            float saved = logits[i];
            logits[i] = (float) (saved + h);
            cpu.tokenLogProbs(logits, rows, vocab, targets, logProbs, null);
            double up = weighted(logProbs, weights);
            logits[i] = (float) (saved - h);
            cpu.tokenLogProbs(logits, rows, vocab, targets, logProbs, null);
            double down = weighted(logProbs, weights);
            logits[i] = saved;
            maxError = Math.max(maxError, Math.abs((up - down) / (2 * h) - dLogits[i]));
        }
        assertThat(maxError).as("max |analytic − numeric|").isLessThan(3e-3);
        for (int j = 0; j < vocab; j++) {
            assertThat(dLogits[vocab + j]).as("ignored row").isZero();
        }
    }

    private static double weighted(float[] logProbs, float[] weights) {
        double s = 0;
        for (int r = 0; r < logProbs.length; r++) {
            s += (double) weights[r] * logProbs[r];
        }
        return s;
    }

    @Test
    @DisplayName("the vectorised CPU backend agrees with the reference kernels (a vocabulary with a vector tail, many blocks)")
    void cpuMatchesReference() {
        int rows = 300;
        int vocab = 1003;
        float[] logits = gaussian(rows * vocab, 5, 11);
        Random random = new Random(12);
        int[] targets = new int[rows];
        float[] weights = new float[rows];
        for (int r = 0; r < rows; r++) {
            targets[r] = r % 10 == 0 ? -100 : random.nextInt(vocab);
            weights[r] = (float) random.nextGaussian();
        }
        float[] cpuLogProbs = new float[rows];
        float[] cpuEntropies = new float[rows];
        float[] refLogProbs = new float[rows];
        float[] refEntropies = new float[rows];
        cpu.tokenLogProbs(logits, rows, vocab, targets, cpuLogProbs, cpuEntropies);
        LossKernels.tokenLogProbsRows(logits, vocab, targets, refLogProbs, refEntropies, 0, rows);
        for (int r = 0; r < rows; r++) {
            // e^x in float within 2 ulp, summed in lanes, against Math.exp summed in double.
            assertThat(cpuLogProbs[r]).as("log p row %d", r).isCloseTo(refLogProbs[r], within(2e-5f));
            assertThat(cpuEntropies[r]).as("entropy row %d", r).isCloseTo(refEntropies[r], within(5e-5f));
        }
        float[] cpuGrad = new float[rows * vocab];
        float[] refGrad = new float[rows * vocab];
        cpu.tokenLogProbsBackward(cpuGrad, logits, rows, vocab, targets, weights);
        LossKernels.tokenLogProbsBackwardRows(refGrad, logits, vocab, targets, weights, 0, rows);
        for (int i = 0; i < refGrad.length; i++) {
            // The target's entry is w − w·p here and w·(1 − p) there: a few ulps of w apart.
            assertThat(cpuGrad[i]).as("dLogits[%d]", i).isCloseTo(refGrad[i], within(2e-6f * Math.max(1f, Math.abs(refGrad[i]))));
        }
    }

    @Test
    @DisplayName("a target outside the vocabulary or too short an output is an error in words")
    void rejectsBadArguments() {
        assertThatThrownBy(() -> cpu.tokenLogProbs(new float[6], 2, 3, new int[] {1, 3}, new float[2], null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1");
        assertThatThrownBy(() -> cpu.tokenLogProbs(new float[6], 2, 3, new int[] {1, 2}, new float[1], null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shorter than 2 rows");
    }
}
