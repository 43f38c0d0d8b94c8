package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.LossKernels;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CrossEntropyTest {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    @Test
    @DisplayName("uniform logits give loss log(V) per row and gradient (1/V - onehot)")
    void closedFormOnUniformLogits() {
        int rows = 3;
        int vocab = 7;
        float[] logits = new float[rows * vocab];
        java.util.Arrays.fill(logits, 2.5f);
        int[] targets = {0, 6, 3};
        float[] grad = new float[rows * vocab];

        double loss = cpu.crossEntropy(logits, rows, vocab, targets, grad, 1f);

        assertThat(loss).isCloseTo(rows * Math.log(vocab), within(1e-5));
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < vocab; j++) {
                double expected = 1.0 / vocab - (j == targets[r] ? 1 : 0);
                assertThat((double) grad[r * vocab + j]).isCloseTo(expected, within(1e-6));
            }
        }
    }

    @Test
    @DisplayName("the gradient matches central finite differences of the loss")
    void gradientMatchesFiniteDifferences() {
        int rows = 4;
        int vocab = 11;
        Random random = new Random(7);
        float[] logits = new float[rows * vocab];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) random.nextGaussian() * 3;
        }
        int[] targets = {3, -100, 10, 0};
        float[] grad = new float[rows * vocab];
        cpu.crossEntropy(logits, rows, vocab, targets, grad, 0.5f);

        double h = 1e-2;
        double maxError = 0;
        for (int i = 0; i < logits.length; i++) {
            float saved = logits[i];
            logits[i] = (float) (saved + h);
            double up = cpu.crossEntropy(logits, rows, vocab, targets, null, 1f);
            logits[i] = (float) (saved - h);
            double down = cpu.crossEntropy(logits, rows, vocab, targets, null, 1f);
            logits[i] = saved;
            double numeric = 0.5 * (up - down) / (2 * h);
            maxError = Math.max(maxError, Math.abs(numeric - grad[i]));
        }
        assertThat(maxError).as("max |analytic - numeric|").isLessThan(2e-3);
        for (int j = 0; j < vocab; j++) {
            assertThat(grad[vocab + j]).as("ignored row gets no gradient").isZero();
        }
    }

    @Test
    @DisplayName("the vectorised CPU backend agrees with the reference kernel on large inputs")
    void cpuMatchesReference() {
        int rows = 300;
        int vocab = 1000;
        Random random = new Random(11);
        float[] logits = new float[rows * vocab];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) random.nextGaussian() * 5;
        }
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) {
            targets[r] = r % 10 == 0 ? -100 : random.nextInt(vocab);
        }
        float[] gradCpu = new float[rows * vocab];
        float[] gradRef = new float[rows * vocab];
        float[] rowLoss = new float[rows];

        double cpuLoss = cpu.crossEntropy(logits, rows, vocab, targets, gradCpu, 0.01f);
        LossKernels.crossEntropyRows(logits, vocab, targets, rowLoss, gradRef, 0.01f, 0, rows);
        double refLoss = 0;
        for (float l : rowLoss) {
            refLoss += l;
        }

        // e^x in float (within 2 ulp) and float lane sums against Math.exp summed in double: the
        // loss (a sum of 270 rows of ~10) within 1e-6 relative, each gradient within a few ulps of
        // its scale.
        assertThat(cpuLoss).isCloseTo(refLoss, within(1e-6 * Math.abs(refLoss)));
        for (int i = 0; i < gradRef.length; i++) {
            assertThat(gradCpu[i]).as("dLogits[%d]", i).isCloseTo(gradRef[i], within(2e-8f));
        }
    }

    @Test
    @DisplayName("a target outside the vocabulary is an error that names the row")
    void rejectsTargetOutsideVocabulary() {
        assertThatThrownBy(() -> cpu.crossEntropy(new float[6], 2, 3, new int[] {1, 3}, null, 1f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("row 1");
    }
}
