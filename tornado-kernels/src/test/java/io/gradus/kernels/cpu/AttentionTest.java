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
     * block of the shared dimension; head size 40 a whole panel and a partial one; 1, 2 and 3 query
     * heads per key/value head; an odd head size (5) and a sequence shorter than a vector.
     */
    static List<Shape> shapes() {
        return List.of(
                new Shape(2, 301, 6, 2, 40),
                new Shape(3, 37, 4, 2, 64),
                new Shape(1, 130, 2, 2, 32),
                new Shape(2, 128, 4, 2, 32), // the SMALL benchmark's heads
                new Shape(2, 9, 3, 1, 5),
                new Shape(1, 1, 2, 1, 8));
    }

    @Test
    @DisplayName("the test shapes reach every path of the CPU attention, by the kernels' own blocking constants")
    void shapesReachEveryPath() {
        Set<String> reached = new TreeSet<>();
        shapes().forEach(s -> reached.addAll(KernelPaths.attention(s.batch(), s.seq(), s.heads(), s.kvHeads(), s.headDim())));
        Set<String> every = KernelPaths.attention(2, 2 * VectorMatmul.KC + 1, 3, 1, VectorMatmul.NR + 1);
        every.addAll(KernelPaths.attention(1, 1, 1, 1, 1));
        assertThat(every).as("every path").hasSize(13);
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

        float[] dq = x.dq.clone();
        float[] dk = x.dk.clone();
        float[] dv = x.dv.clone();
        float[] refDq = x.dq.clone();
        float[] refDk = x.dk.clone();
        float[] refDv = x.dv.clone();
        cpu.attentionBackward(dq, dk, dv, x.dOut, refAtt, x.q, x.k, x.v, shape.batch(), shape.seq(), shape.heads(),
                shape.kvHeads(), shape.headDim());
        AttentionKernels.backward(refDq, refDk, refDv, x.dOut, refAtt, x.q, x.k, x.v,
                new float[shape.batch() * shape.kvHeads() * shape.seq()], shape.seq(), shape.heads(), shape.kvHeads(),
                shape.headDim(), 0, shape.batch() * shape.kvHeads());
        assertClose("dq", dq, refDq);
        assertClose("dk", dk, refDk);
        assertClose("dv", dv, refDv);
        cpu.deactivate();
    }

    @Test
    @DisplayName("the results are the same bits on 1 and 3 threads")
    void independentOfThreads() {
        Shape shape = shapes().getFirst();
        float[][] one = run(shape, 1);
        float[][] three = run(shape, 3);
        for (int i = 0; i < one.length; i++) {
            assertThat(three[i]).as("output %d", i).isEqualTo(one[i]);
        }
    }

    /** out, att, dq, dk and dv of a forward and a backward pass on {@code threads} threads. */
    private static float[][] run(Shape shape, int threads) {
        Tensors x = new Tensors(shape);
        CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(threads));
        float[] out = new float[x.q.length];
        float[] att = new float[x.attSize];
        cpu.attentionForward(out, att, x.q, x.k, x.v, shape.batch(), shape.seq(), shape.heads(), shape.kvHeads(),
                shape.headDim());
        cpu.attentionBackward(x.dq, x.dk, x.dv, x.dOut, att, x.q, x.k, x.v, shape.batch(), shape.seq(), shape.heads(),
                shape.kvHeads(), shape.headDim());
        cpu.deactivate();
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
            q = randoms(random, qSize);
            k = randoms(random, kvSize);
            v = randoms(random, kvSize);
            dOut = randoms(random, qSize);
            dq = randoms(random, qSize);
            dk = randoms(random, kvSize);
            dv = randoms(random, kvSize);
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
