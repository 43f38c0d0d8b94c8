package io.gradus.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.kernels.reference.AttentionKernels;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU backend's fused causal attention against the reference kernels (plain loops, one scalar
 * dot product at a time). Same formulas, other summation orders: the outputs agree to float
 * rounding, a few 1e-6 relative to the largest output.
 */
class AttentionTest {

    private static final double TOLERANCE = 2e-5;

    /** Batch, sequence length, query heads, key/value heads, head size. */
    record Shape(int batch, int seq, int heads, int kvHeads, int headDim) {
        @Override
        public String toString() {
            return "batch " + batch + ", seq " + seq + ", heads " + heads + "/" + kvHeads + ", head size " + headDim;
        }
    }

    /**
     * Shapes that reach every path on any vector width up to 512 bits ({@link #shapesReachEveryPath}
     * checks it against the kernels' constants): 301 positions are several query blocks and a partial
     * one, 6-row tiles and a row over, whole key panels and a partial one, and more keys than one
     * block of the shared dimension; head sizes of whole panels (64) and partial ones (5, and 40 with
     * 256- or 512-bit vectors); a head size over one block of the shared dimension (257, so S and dP
     * are summed over two blocks); 1, 2 and 3 query heads per key/value head; a sequence shorter than
     * a vector.
     */
    static List<Shape> shapes() {
        return List.of(
                new Shape(2, 301, 6, 2, 40),
                new Shape(3, 37, 4, 2, 64),
                new Shape(1, 130, 2, 2, 32),
                new Shape(2, 128, 4, 2, 32), // the SMALL benchmark's heads
                new Shape(2, 9, 3, 1, 5),
                new Shape(1, 7, 1, 1, VectorMatmul.KC + 1),
                new Shape(1, 1, 2, 1, 8));
    }

    @Test
    @DisplayName("the test shapes reach every path of the CPU attention, by the kernels' own blocking constants")
    void shapesReachEveryPath() {
        Set<String> reached = new TreeSet<>();
        shapes().forEach(s -> reached.addAll(KernelPaths.attention(s.batch(), s.seq(), s.heads(), s.kvHeads(), s.headDim())));
        Set<String> every = KernelPaths.attention(2, 2 * VectorMatmul.KC + 1, 3, 1, VectorMatmul.KC + 1);
        every.addAll(KernelPaths.attention(1, 1, 1, 1, 1));
        every.addAll(KernelPaths.attention(1, 2 * VectorMatmul.NR, 1, 1, 2 * VectorMatmul.NR));
        assertThat(every).as("every path").hasSize(VectorMatmul.PANEL_PAIRS ? 16 : 14);
        assertThat(reached).as("paths reached by the test shapes").containsAll(every);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    @DisplayName("forward and backward equal the reference kernels")
    void matchesReference(Shape shape) {
        Tensors x = new Tensors(shape);
        CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));
        float[] out = new float[x.q.length];
        float[] att = new float[x.attSize];
        cpu.attentionForward(out, att, x.q, x.k, x.v, shape.batch(), shape.seq(), shape.heads(), shape.kvHeads(),
                shape.headDim());
        float[] refOut = new float[x.q.length];
        float[] refAtt = new float[x.attSize];
        AttentionKernels.forward(refOut, refAtt, x.q, x.k, x.v, shape.seq(), shape.heads(), shape.kvHeads(),
                shape.headDim(), 0, shape.batch() * shape.heads() * shape.seq());
        assertClose("out", out, refOut);
        assertClose("att", att, refAtt);
        for (int i = 0; i < att.length; i++) { // above the diagonal exactly zero, as the reference has it
            if (refAtt[i] == 0f) {
                assertThat(att[i]).as("att[%d]", i).isZero();
            }
        }

        // From zero gradients the comparison is tight: the attention's own contribution, not a sum
        // dominated by the random starting values.
        float[][] fromZero = backward(cpu, shape, x, refAtt, true);
        float[][] refFromZero = referenceBackward(shape, x, refAtt, true);
        String[] names = {"dq", "dk", "dv"};
        for (int i = 0; i < names.length; i++) {
            assertClose(names[i], fromZero[i], refFromZero[i]);
        }
        // The backward pass accumulates into the gradients it is given.
        float[][] accumulated = backward(cpu, shape, x, refAtt, false);
        float[][] refAccumulated = referenceBackward(shape, x, refAtt, false);
        for (int i = 0; i < names.length; i++) {
            assertClose(names[i] + " accumulated", accumulated[i], refAccumulated[i]);
        }
        cpu.deactivate();
    }

    /** dq, dk and dv of the CPU backend's backward pass, from zeros or from the random starting gradients. */
    private static float[][] backward(CpuKernelBackend cpu, Shape shape, Tensors x, float[] att, boolean fromZero) {
        float[] dq = fromZero ? new float[x.dq.length] : x.dq.clone();
        float[] dk = fromZero ? new float[x.dk.length] : x.dk.clone();
        float[] dv = fromZero ? new float[x.dv.length] : x.dv.clone();
        cpu.attentionBackward(dq, dk, dv, x.dOut, att, x.q, x.k, x.v, shape.batch(), shape.seq(), shape.heads(),
                shape.kvHeads(), shape.headDim());
        return new float[][] {dq, dk, dv};
    }

    private static float[][] referenceBackward(Shape shape, Tensors x, float[] att, boolean fromZero) {
        float[] dq = fromZero ? new float[x.dq.length] : x.dq.clone();
        float[] dk = fromZero ? new float[x.dk.length] : x.dk.clone();
        float[] dv = fromZero ? new float[x.dv.length] : x.dv.clone();
        AttentionKernels.backward(dq, dk, dv, x.dOut, att, x.q, x.k, x.v,
                new float[shape.batch() * shape.kvHeads() * shape.seq()], shape.seq(), shape.heads(), shape.kvHeads(),
                shape.headDim(), 0, shape.batch() * shape.kvHeads());
        return new float[][] {dq, dk, dv};
    }

    @Test
    @DisplayName("the results are the same bits on 1 and 3 threads, and with all tasks in one call")
    void independentOfThreads() {
        Shape shape = shapes().getFirst();
        float[][] one = run(shape, 1);
        float[][] three = run(shape, 3);
        float[][] oneCall = runInOneCall(shape);
        for (int i = 0; i < one.length; i++) {
            assertThat(three[i]).as("output %d on 3 threads", i).isEqualTo(one[i]);
            assertThat(oneCall[i]).as("output %d in one call", i).isEqualTo(one[i]);
        }
    }

    /** out, att, dq, dk and dv of a forward and a backward pass on {@code threads} threads. */
    private static float[][] run(Shape shape, int threads) {
        Tensors x = new Tensors(shape);
        CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(threads));
        try {
            float[] out = new float[x.q.length];
            float[] att = new float[x.attSize];
            cpu.attentionForward(out, att, x.q, x.k, x.v, shape.batch(), shape.seq(), shape.heads(), shape.kvHeads(),
                    shape.headDim());
            cpu.attentionBackward(x.dq, x.dk, x.dv, x.dOut, att, x.q, x.k, x.v, shape.batch(), shape.seq(),
                    shape.heads(), shape.kvHeads(), shape.headDim());
            return new float[][] {out, att, x.dq, x.dk, x.dv};
        } finally {
            cpu.deactivate();
        }
    }

    /**
     * As {@link #run}, with every task in one call of the kernels: their scratch arrays (packed K and
     * V, dS) then serve many query blocks and key/value groups in turn, which a split into one task
     * per block never exercises.
     */
    private static float[][] runInOneCall(Shape shape) {
        Tensors x = new Tensors(shape);
        float[] out = new float[x.q.length];
        float[] att = new float[x.attSize];
        VectorAttention.forward(out, att, x.q, x.k, x.v, shape.seq(), shape.heads(), shape.kvHeads(), shape.headDim(),
                0, shape.batch() * shape.kvHeads() * VectorAttention.queryBlocks(shape.seq()));
        VectorAttention.backward(x.dq, x.dk, x.dv, x.dOut, att, x.q, x.k, x.v, shape.seq(), shape.heads(),
                shape.kvHeads(), shape.headDim(), 0, shape.batch() * shape.kvHeads());
        return new float[][] {out, att, x.dq, x.dk, x.dv};
    }

    /** Random inputs of one shape, the same for the same shape; the gradients start non-zero (they accumulate). */
    private static final class Tensors {
        final float[] q, k, v, dOut, dq, dk, dv;
        final int attSize;

        Tensors(Shape shape) {
            Random random = new Random(shape.batch() * 1000L + shape.seq() * 10L + shape.heads());
            int qSize = shape.batch() * shape.seq() * shape.heads() * shape.headDim();
            int kvSize = shape.batch() * shape.seq() * shape.kvHeads() * shape.headDim();
            q = MatmulTest.randoms(random, qSize);
            k = MatmulTest.randoms(random, kvSize);
            v = MatmulTest.randoms(random, kvSize);
            dOut = MatmulTest.randoms(random, qSize);
            dq = MatmulTest.randoms(random, qSize);
            dk = MatmulTest.randoms(random, kvSize);
            dv = MatmulTest.randoms(random, kvSize);
            attSize = shape.batch() * shape.heads() * shape.seq() * shape.seq();
        }
    }

    private static void assertClose(String what, float[] actual, float[] expected) {
        double max = 0;
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
        }
        // a single position's softmax has no gradient: there dq is exactly zero, in both
        assertThat(max == 0 ? diff : diff / max).as("%s: max |diff| %s relative to max |value| %s", what, diff, max)
                .isLessThan(TOLERANCE);
    }
}
