package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.EmbeddingKernels;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EmbeddingParityTest {

    @Test
    @DisplayName("the embedding gradient, repeated ids included, equals the reference kernel exactly")
    void backwardMatchesReference() {
        CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));
        int vocab = 50;
        int n = 700;
        int dim = 77;
        Random random = new Random(9);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(vocab); // 700 rows over 50 ids: every id repeats
        }
        float[] dOut = new float[n * dim];
        for (int i = 0; i < dOut.length; i++) {
            dOut[i] = (float) random.nextGaussian();
        }
        float[] dTable = new float[vocab * dim];
        float[] reference = new float[vocab * dim];
        cpu.embeddingBackward(dTable, dOut, ids, n, dim);
        EmbeddingKernels.backward(reference, dOut, ids, n, dim, 0, dim);
        assertThat(dTable).containsExactly(reference);
    }
}
