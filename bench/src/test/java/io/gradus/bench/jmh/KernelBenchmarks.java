package io.gradus.bench.jmh;

import io.gradus.api.kernel.MatmulLayout;
import io.gradus.api.kernel.Nf4;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH benchmarks of the CPU backend's hot kernels (milliseconds per call), at the matmul size the
 * BENCHMARKS.md goal is stated for and the MEDIUM model's training shapes. {@code gradus bench
 * kernels} prints the same kernels as rates, per backend, inside the OSGi host.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class KernelBenchmarks {

    /** 1024³ fp32 products: 2.15 GFLOP per call. */
    @State(Scope.Benchmark)
    public static class Matmul {
        @Param({"AB", "ABT", "ATB"})
        public MatmulLayout layout;

        @Param({"1024"})
        public int size;

        @Param({"2"})
        public int threads;

        ForkJoinPool pool;
        CpuKernelBackend cpu;
        float[] a;
        float[] b;
        float[] c;

        @Setup(Level.Trial)
        public void setUp() {
            pool = new ForkJoinPool(threads);
            cpu = new CpuKernelBackend(pool);
            Random random = new Random(1);
            a = randoms(random, size * size);
            b = randoms(random, size * size);
            c = new float[size * size];
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            pool.shutdown();
        }
    }

    @Benchmark
    public float[] matmul(Matmul s) {
        s.cpu.matmul(s.layout, s.c, s.a, s.b, s.size, s.size, s.size, false);
        return s.c;
    }

    /** A training step's shapes (the MEDIUM model): 4×256 tokens, width 384, MLP 1024, 6/2 heads of 64. */
    @State(Scope.Benchmark)
    public static class Step {
        static final int BATCH = 4, SEQ = 256, TOKENS = BATCH * SEQ, DIM = 384, HIDDEN = 1024, HEADS = 6, KV = 2,
                HEAD_DIM = 64, VOCAB = 2048, RANK = 8;

        ForkJoinPool pool;
        CpuKernelBackend cpu;
        float[] x, w, h, q, k, v, out, att, dOut, dq, dk, dv, logits, dLogits, norm, rstd, gain, loraA, loraOut;
        int[] targets;
        Nf4 nf4;

        @Setup(Level.Trial)
        public void setUp() {
            pool = new ForkJoinPool(2);
            cpu = new CpuKernelBackend(pool);
            Random random = new Random(2);
            x = randoms(random, TOKENS * DIM);
            w = randoms(random, HIDDEN * DIM);
            h = new float[TOKENS * HIDDEN];
            nf4 = Nf4.quantize(w, Nf4.DEFAULT_BLOCK_SIZE);
            loraA = randoms(random, RANK * DIM);
            loraOut = new float[TOKENS * RANK];
            q = randoms(random, TOKENS * HEADS * HEAD_DIM);
            k = randoms(random, TOKENS * KV * HEAD_DIM);
            v = randoms(random, TOKENS * KV * HEAD_DIM);
            out = new float[q.length];
            att = new float[BATCH * HEADS * SEQ * SEQ];
            dOut = randoms(random, q.length);
            dq = new float[q.length];
            dk = new float[k.length];
            dv = new float[v.length];
            logits = randoms(random, TOKENS * VOCAB);
            dLogits = new float[logits.length];
            targets = new int[TOKENS];
            for (int i = 0; i < TOKENS; i++) {
                targets[i] = random.nextInt(VOCAB);
            }
            norm = new float[x.length];
            rstd = new float[TOKENS];
            gain = randoms(random, DIM);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            pool.shutdown();
        }
    }

    @Benchmark
    public float[] linearForward(Step s) {
        s.cpu.matmul(MatmulLayout.ABT, s.h, s.x, s.w, Step.TOKENS, Step.HIDDEN, Step.DIM, false);
        return s.h;
    }

    @Benchmark
    public float[] nf4LinearForward(Step s) {
        s.cpu.nf4Matmul(MatmulLayout.ABT, s.h, s.x, s.nf4.packed(), s.nf4.absmax(), s.nf4.blockSize(), Step.TOKENS,
                Step.HIDDEN, Step.DIM, false);
        return s.h;
    }

    /** The LoRA down-projection x·Aᵀ: k = 384, n = rank 8. */
    @Benchmark
    public float[] loraDown(Step s) {
        s.cpu.matmul(MatmulLayout.ABT, s.loraOut, s.x, s.loraA, Step.TOKENS, Step.RANK, Step.DIM, false);
        return s.loraOut;
    }

    @Benchmark
    public float[] attentionForward(Step s) {
        s.cpu.attentionForward(s.out, s.att, s.q, s.k, s.v, Step.BATCH, Step.SEQ, Step.HEADS, Step.KV, Step.HEAD_DIM);
        return s.out;
    }

    @Benchmark
    public float[] attentionBackward(Step s) {
        s.cpu.attentionBackward(s.dq, s.dk, s.dv, s.dOut, s.att, s.q, s.k, s.v, Step.BATCH, Step.SEQ, Step.HEADS,
                Step.KV, Step.HEAD_DIM);
        return s.dq;
    }

    @Benchmark
    public double crossEntropy(Step s) {
        return s.cpu.crossEntropy(s.logits, Step.TOKENS, Step.VOCAB, s.targets, s.dLogits, 1f / Step.TOKENS);
    }

    @Benchmark
    public float[] rmsNorm(Step s) {
        s.cpu.rmsNormForward(s.norm, s.rstd, s.x, s.gain, Step.TOKENS, Step.DIM, 1e-5f);
        return s.norm;
    }

    static float[] randoms(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
