package io.gradus.kernels.tornado;

import io.gradus.api.kernel.Activation;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.kernel.MatmulLayout;
import io.gradus.api.kernel.Nf4;
import io.gradus.api.kernel.Nf4DoubleQuant;
import io.gradus.kernels.KernelArguments;
import io.gradus.kernels.reference.ActivationKernels;
import io.gradus.kernels.reference.AttentionKernels;
import io.gradus.kernels.reference.ElementwiseKernels;
import io.gradus.kernels.reference.EmbeddingKernels;
import io.gradus.kernels.reference.LossKernels;
import io.gradus.kernels.reference.MatmulKernels;
import io.gradus.kernels.reference.Nf4Kernels;
import io.gradus.kernels.reference.NormKernels;
import io.gradus.kernels.reference.OptimizerKernels;
import io.gradus.kernels.reference.RopeKernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;

/**
 * The kernels on TornadoVM's default device: every operation runs the very reference kernel the CPU
 * path is tested against, compiled by TornadoVM from its {@code @Parallel} loop.
 *
 * <p>Each distinct call (operation, arrays by identity, scalar arguments) becomes a TaskGraph and an
 * execution plan, kept in a bounded LRU cache: repeated calls on the same arrays, the normal case
 * inside a training step's layer loop, reuse the compiled kernel and the device buffers. Arrays the
 * caller {@linkplain #retain retained} (frozen weights) and NF4 weights are copied to the device on a
 * plan's first execution only and stay resident; everything else is copied in and out per call.
 * Helper arrays (partial sums, scalars that change every call such as the learning rate or a
 * dropout seed) are kept per owner array, so a call's plan is found again rather than recompiled.
 * Calls are serialized: TornadoVM's plans are not meant for concurrent execution. The cache holds
 * {@value #DEFAULT_PLANS} plans by default ({@value #PLANS_PROPERTY}); a training step with more
 * distinct calls than that, or callers that allocate new arrays at every call, rebuild plans;
 * activations are copied in and out at every call. Enough to prove the kernels on a device, not yet
 * a fast GPU training step.
 */
final class TornadoKernelBackend implements KernelBackend, AutoCloseable {

    /** System property: how many execution plans (with their device buffers) stay cached. */
    static final String PLANS_PROPERTY = "gradus.tornado.plans";

    private static final int DEFAULT_PLANS = 256;

    private static final float[] NF4_CODE = Nf4.code();

    private static final float[] DYNAMIC_MAP = Nf4DoubleQuant.dynamicMap();

    private final TornadoDevice device;
    /** Retained arrays and how many times each is retained (two jobs may share a frozen base). */
    private final Map<Object, Integer> resident = new IdentityHashMap<>();
    private final Map<List<Object>, TornadoExecutionPlan> plans;
    /** Helper arrays of a call (partial sums, boxed scalars), one set per owner array. */
    private final Map<List<Object>, Object> scratch;
    private long graphs;

    TornadoKernelBackend() {
        this.device = TornadoExecutionPlan.getDevice(0, 0);
        int capacity = Math.max(1, Integer.getInteger(PLANS_PROPERTY, DEFAULT_PLANS));
        this.plans = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<List<Object>, TornadoExecutionPlan> eldest) {
                if (size() <= capacity) {
                    return false;
                }
                closeQuietly(eldest.getValue());
                return true;
            }
        };
        this.scratch = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<List<Object>, Object> eldest) {
                return size() > capacity;
            }
        };
    }

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public String description() {
        return "TornadoVM on " + device.getDeviceName() + " (" + device.getPlatformName().trim() + ")";
    }

    @Override
    public synchronized void retain(float[] weights) {
        resident.merge(weights, 1, Integer::sum);
    }

    /** Plans hold the device copy of a released array as if it were still current: drop them all. */
    @Override
    public synchronized void release(float[] weights) {
        Integer count = resident.get(weights);
        if (count == null) {
            return;
        }
        if (count > 1) {
            resident.put(weights, count - 1);
        } else {
            resident.remove(weights);
            clearPlans();
        }
    }

    @Override
    public synchronized void close() {
        clearPlans();
    }

    private void clearPlans() {
        plans.values().forEach(TornadoKernelBackend::closeQuietly);
        plans.clear();
        scratch.clear();
    }

    /**
     * The helper array {@code role} of calls on {@code owner}: the same array every time, so that the
     * call's plan (keyed by array identity) is found again instead of rebuilt and recompiled.
     */
    private synchronized float[] floats(Object owner, String role, int size) {
        return (float[]) scratch.compute(List.of(new Identity(owner), role, size),
                (key, old) -> old != null ? old : new float[size]);
    }

    private synchronized double[] doubles(Object owner, String role, int size) {
        return (double[]) scratch.compute(List.of(new Identity(owner), role, size),
                (key, old) -> old != null ? old : new double[size]);
    }

    private synchronized long[] longs(Object owner, String role, int size) {
        return (long[]) scratch.compute(List.of(new Identity(owner), role, size),
                (key, old) -> old != null ? old : new long[size]);
    }

    private static void closeQuietly(TornadoExecutionPlan plan) {
        try {
            plan.close();
        } catch (Exception e) {
            // Freeing device memory of a plan that is going away: nothing left to do about a failure.
        }
    }

    /**
     * Runs one kernel call through its cached plan, building the plan on first use.
     *
     * @param inputs every array the kernel reads or updates in place (copied to the device)
     * @param outputs the arrays it writes (copied back)
     * @param arguments the kernel's arguments, which identify the plan
     */
    private synchronized void run(String name, Object[] inputs, Object[] outputs, Object[] arguments,
            Consumer<TaskGraph> task) {
        run(name, arrays(), inputs, outputs, arguments, task);
    }

    /** As above, with {@code frozen} inputs that stay resident on the device whether retained or not. */
    private synchronized void run(String name, Object[] frozen, Object[] inputs, Object[] outputs, Object[] arguments,
            Consumer<TaskGraph> task) {
        List<Object> key = new ArrayList<>(arguments.length + 1);
        key.add(name);
        for (Object argument : arguments) {
            key.add(argument != null && argument.getClass().isArray() ? new Identity(argument) : argument);
        }
        TornadoExecutionPlan plan = plans.get(key);
        if (plan == null) {
            TaskGraph graph = new TaskGraph(name + "_" + graphs++);
            Object[] stay = Stream.concat(Arrays.stream(frozen), Arrays.stream(inputs).filter(resident::containsKey))
                    .toArray();
            Object[] move = Arrays.stream(inputs).filter(x -> !resident.containsKey(x)).toArray();
            if (stay.length > 0) {
                graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, stay);
            }
            if (move.length > 0) {
                graph.transferToDevice(DataTransferMode.EVERY_EXECUTION, move);
            }
            task.accept(graph);
            graph.transferToHost(DataTransferMode.EVERY_EXECUTION, outputs);
            plan = new TornadoExecutionPlan(graph.snapshot());
            plans.put(key, plan);
        }
        plan.execute();
    }

    /** An array as a map key: by identity, as TornadoVM tracks its device buffers. */
    private record Identity(Object array) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Identity that && that.array == array;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(array);
        }
    }

    private static Object[] arrays(Object... arrays) {
        return arrays;
    }

    @Override
    public synchronized double crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] dLogits, float gradScale) {
        KernelArguments.crossEntropy(logits, rows, vocab, targets, dLogits);
        float[] rowLoss = floats(logits, "rowLoss", rows);
        float[] gradient = dLogits != null ? dLogits : floats(logits, "dLogits", rows * vocab);
        float[] scale = floats(logits, "gradScale", 1);
        scale[0] = gradScale;
        run("crossEntropy", arrays(logits, targets, rowLoss, gradient, scale), arrays(rowLoss, gradient),
                arrays(logits, vocab, targets, rowLoss, gradient, scale, rows),
                g -> g.task("t", DeviceKernels::crossEntropyRows, logits, vocab, targets, rowLoss, gradient, scale, 0, rows));
        double total = 0;
        for (float loss : rowLoss) {
            total += loss;
        }
        return total;
    }

    @Override
    public synchronized void tokenLogProbs(float[] logits, int rows, int vocab, int[] targets, float[] logProbs,
            float[] entropies) {
        KernelArguments.tokenLogProbs(logits, rows, vocab, targets, logProbs, entropies);
        // A device kernel takes no null array: without entropies, they go to a scratch array that stays here.
        float[] entropy = entropies != null ? entropies : floats(logProbs, "entropies", rows);
        run("tokenLogProbs", arrays(logits, targets), arrays(logProbs, entropy),
                arrays(logits, vocab, targets, logProbs, entropy, rows),
                g -> g.task("t", LossKernels::tokenLogProbsRows, logits, vocab, targets, logProbs, entropy, 0, rows));
    }

    @Override
    public synchronized void tokenLogProbsBackward(float[] dLogits, float[] logits, int rows, int vocab, int[] targets,
            float[] dLogProbs) {
        KernelArguments.tokenLogProbs(logits, rows, vocab, targets, dLogProbs, null);
        KernelArguments.crossEntropy(logits, rows, vocab, targets, dLogits);
        run("tokenLogProbsBackward", arrays(logits, targets, dLogProbs), arrays(dLogits),
                arrays(dLogits, logits, vocab, targets, dLogProbs, rows),
                g -> g.task("t", LossKernels::tokenLogProbsBackwardRows, dLogits, logits, vocab, targets, dLogProbs, 0,
                        rows));
    }

    @Override
    public synchronized void matmul(MatmulLayout layout, float[] c, float[] a, float[] b, int m, int n, int k, boolean accumulate) {
        Object[] arguments = arrays(layout, c, a, b, m, n, k, accumulate);
        int add = accumulate ? 1 : 0;
        switch (layout) {
            case AB -> run("ab", arrays(c, a, b), arrays(c), arguments,
                    g -> g.task("t", MatmulKernels::ab, c, a, b, n, k, add, 0, m));
            case ABT -> run("abt", arrays(c, a, b), arrays(c), arguments,
                    g -> g.task("t", MatmulKernels::abt, c, a, b, n, k, add, 0, m));
            case ATB -> run("atb", arrays(c, a, b), arrays(c), arguments,
                    g -> g.task("t", MatmulKernels::atb, c, a, b, m, n, k, add, 0, m));
        }
    }

    @Override
    public synchronized void add(float[] y, float[] x, int n) {
        run("add", arrays(y, x), arrays(y), arrays(y, x, n), g -> g.task("t", ElementwiseKernels::add, y, x, 0, n));
    }

    @Override
    public synchronized void rmsNormForward(float[] out, float[] rstd, float[] x, float[] weight, int rows, int dim, float eps) {
        run("rmsNorm", arrays(out, rstd, x, weight), arrays(out, rstd), arrays(out, rstd, x, weight, rows, dim, eps),
                g -> g.task("t", NormKernels::rmsNormForward, out, rstd, x, weight, dim, eps, 0, rows));
    }

    @Override
    public synchronized void rmsNormBackward(float[] dx, float[] dWeight, float[] dOut, float[] x, float[] weight, float[] rstd,
            int rows, int dim) {
        run("rmsNormBackward", arrays(dx, dOut, x, weight, rstd), arrays(dx), arrays(dx, dOut, x, weight, rstd, rows, dim),
                g -> g.task("t", NormKernels::rmsNormBackward, dx, dOut, x, weight, rstd, dim, 0, rows));
        if (dWeight != null) {
            run("rmsNormWeightGradient", arrays(dWeight, dOut, x, rstd), arrays(dWeight),
                    arrays(dWeight, dOut, x, rstd, rows, dim),
                    g -> g.task("t", NormKernels::rmsNormWeightGradient, dWeight, dOut, x, rstd, rows, dim, 0, dim));
        }
    }

    @Override
    public synchronized void rope(float[] x, float[] cos, float[] sin, int batch, int seq, int heads, int headDim, boolean inverse) {
        int rows = batch * seq;
        float direction = inverse ? -1f : 1f;
        run("rope", arrays(x, cos, sin), arrays(x), arrays(x, cos, sin, rows, seq, heads, headDim, direction),
                g -> g.task("t", RopeKernels::rope, x, cos, sin, seq, heads, headDim, direction, 0, rows));
    }

    @Override
    public synchronized void attentionForward(float[] out, float[] att, float[] q, float[] k, float[] v, int batch, int seq,
            int heads, int kvHeads, int headDim) {
        int rows = batch * heads * seq;
        run("attention", arrays(out, att, q, k, v), arrays(out, att),
                arrays(out, att, q, k, v, rows, seq, heads, kvHeads, headDim),
                g -> g.task("t", AttentionKernels::forward, out, att, q, k, v, seq, heads, kvHeads, headDim, 0, rows));
    }

    @Override
    public synchronized void attentionDecode(float[] out, float[] q, float[] kCache, float[] vCache, int length, int heads,
            int kvHeads, int headDim) {
        float[] scores = floats(out, "scores", heads * length);
        run("attentionDecode", arrays(out, q, kCache, vCache, scores), arrays(out),
                arrays(out, q, kCache, vCache, scores, length, heads, kvHeads, headDim),
                g -> g.task("t", AttentionKernels::decode, out, q, kCache, vCache, scores, length, heads, kvHeads,
                        headDim, 0, heads));
    }

    @Override
    public synchronized void attentionBackward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] att, float[] q, float[] k,
            float[] v, int batch, int seq, int heads, int kvHeads, int headDim) {
        int groups = batch * kvHeads;
        float[] dScores = floats(dq, "dScores", groups * seq);
        run("attentionBackward", arrays(dq, dk, dv, dOut, att, q, k, v, dScores), arrays(dq, dk, dv),
                arrays(dq, dk, dv, dOut, att, q, k, v, dScores, groups, seq, heads, kvHeads, headDim),
                g -> g.task("t", AttentionKernels::backward, dq, dk, dv, dOut, att, q, k, v, dScores, seq, heads,
                        kvHeads, headDim, 0, groups));
    }

    @Override
    public synchronized void swigluForward(float[] h, float[] g, float[] u, int n) {
        run("swiglu", arrays(h, g, u), arrays(h), arrays(h, g, u, n),
                graph -> graph.task("t", ElementwiseKernels::swigluForward, h, g, u, 0, n));
    }

    @Override
    public synchronized void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int n) {
        run("swigluBackward", arrays(dg, du, dh, g, u), arrays(dg, du), arrays(dg, du, dh, g, u, n),
                graph -> graph.task("t", ElementwiseKernels::swigluBackward, dg, du, dh, g, u, 0, n));
    }

    @Override
    public synchronized void activationForward(Activation f, float[] out, float[] x, int n) {
        int kind = f.ordinal();
        run("activation", arrays(out, x), arrays(out), arrays(out, x, kind, n),
                g -> g.task("t", ActivationKernels::forward, kind, out, x, 0, n));
    }

    @Override
    public synchronized void activationBackward(Activation f, float[] dx, float[] dy, float[] x, int n) {
        int kind = f.ordinal();
        run("activationBackward", arrays(dx, dy, x), arrays(dx), arrays(dx, dy, x, kind, n),
                g -> g.task("t", ActivationKernels::backward, kind, dx, dy, x, 0, n));
    }

    @Override
    public synchronized void embeddingForward(float[] out, float[] table, int[] ids, int n, int dim) {
        KernelArguments.embedding(table, ids, n, dim);
        run("embedding", arrays(out, table, ids), arrays(out), arrays(out, table, ids, n, dim),
                g -> g.task("t", EmbeddingKernels::forward, out, table, ids, dim, 0, n));
    }

    @Override
    public synchronized void embeddingBackward(float[] dTable, float[] dOut, int[] ids, int n, int dim) {
        run("embeddingBackward", arrays(dTable, dOut, ids), arrays(dTable), arrays(dTable, dOut, ids, n, dim),
                g -> g.task("t", EmbeddingKernels::backward, dTable, dOut, ids, n, dim, 0, dim));
    }

    /** Partial sums over fixed blocks, added in block order on the host (as the CPU backend does). */
    @Override
    public synchronized double sumOfSquares(float[] x, int n) {
        int block = 1 << 14;
        double[] partial = doubles(x, "partial", (n + block - 1) / block);
        int blocks = partial.length;
        run("sumOfSquares", arrays(x, partial), arrays(partial), arrays(x, partial, n),
                g -> g.task("t", OptimizerKernels::sumOfSquares, x, partial, n, block, 0, blocks));
        double sum = 0;
        for (double p : partial) {
            sum += p;
        }
        return sum;
    }

    @Override
    public synchronized void scale(float[] x, float factor, int n) {
        float[] box = floats(x, "factor", 1);
        box[0] = factor;
        run("scale", arrays(x, box), arrays(x), arrays(x, box, n), g -> g.task("t", DeviceKernels::scale, x, box, 0, n));
    }

    /** The hyperparameters travel in an array, so the plan survives the learning-rate schedule. */
    @Override
    public synchronized void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
            float weightDecay, int step) {
        KernelArguments.adamwStep(step);
        float[] hyper = floats(p, "hyperparameters", 7);
        hyper[0] = lr;
        hyper[1] = beta1;
        hyper[2] = beta2;
        hyper[3] = eps;
        hyper[4] = weightDecay;
        hyper[5] = (float) (1 - Math.pow(beta1, step));
        hyper[6] = (float) (1 - Math.pow(beta2, step));
        run("adamw", arrays(p, g, m, v, hyper), arrays(p, m, v), arrays(p, g, m, v, hyper, n),
                graph -> graph.task("t", DeviceKernels::adamw, p, g, m, v, hyper, 0, n));
    }

    @Override
    public synchronized void dropout(float[] out, float[] x, int n, float p, long seed) {
        KernelArguments.dropout(p);
        float[] rate = floats(out, "rate", 2);
        rate[0] = p;
        rate[1] = 1f / (1f - p);
        long[] seedBox = longs(out, "seed", 1);
        seedBox[0] = seed;
        run("dropout", arrays(out, x, rate, seedBox), arrays(out), arrays(out, x, rate, seedBox, n),
                g -> g.task("t", DeviceKernels::dropout, out, x, rate, seedBox, 0, n));
    }

    @Override
    public synchronized void nf4Dequantize(float[] out, byte[] packed, float[] absmax, int n, int blockSize) {
        KernelArguments.nf4(packed, absmax, n, blockSize);
        run("nf4Dequantize", arrays(packed, absmax, NF4_CODE), arrays(out), arrays(out), arrays(out, packed, absmax, n, blockSize),
                g -> g.task("t", Nf4Kernels::dequantize, out, packed, absmax, NF4_CODE, blockSize, 0, n));
    }

    @Override
    public synchronized void nf4Matmul(MatmulLayout layout, float[] c, float[] a, byte[] packed, float[] absmax, int blockSize,
            int m, int n, int k, boolean accumulate) {
        KernelArguments.nf4(packed, absmax, n * k, blockSize);
        Object[] frozen = arrays(packed, absmax, NF4_CODE);
        Object[] inputs = arrays(c, a);
        Object[] arguments = arrays(layout, c, a, packed, absmax, blockSize, m, n, k, accumulate);
        int add = accumulate ? 1 : 0;
        switch (layout) {
            case ABT -> run("nf4Abt", frozen, inputs, arrays(c), arguments,
                    g -> g.task("t", Nf4Kernels::matmulAbt, c, a, packed, absmax, NF4_CODE, blockSize, n, k, add, 0, m));
            case AB -> run("nf4Ab", frozen, inputs, arrays(c), arguments,
                    g -> g.task("t", Nf4Kernels::matmulAb, c, a, packed, absmax, NF4_CODE, blockSize, n, k, add, 0, m));
            case ATB -> throw KernelArguments.nf4WeightGradient();
        }
    }

    @Override
    public synchronized void nf4Dequantize(float[] out, byte[] packed, byte[] absmax, float[] nestedAbsmax, float offset,
            int n, int blockSize) {
        KernelArguments.nf4(packed, absmax, nestedAbsmax, n, blockSize);
        run("nf4DequantizeDq", arrays(packed, absmax, nestedAbsmax, NF4_CODE, DYNAMIC_MAP), arrays(out), arrays(out),
                arrays(out, packed, absmax, nestedAbsmax, offset, n, blockSize),
                g -> g.task("t", Nf4Kernels::dequantizeDoubleQuant, out, packed, absmax, nestedAbsmax, NF4_CODE,
                        DYNAMIC_MAP, offset, blockSize, 0, n));
    }

    /** The scales are decoded per element on the device: only the 8-bit form is resident there. */
    @Override
    public synchronized void nf4Matmul(MatmulLayout layout, float[] c, float[] a, byte[] packed, byte[] absmax,
            float[] nestedAbsmax, float offset, int blockSize, int m, int n, int k, boolean accumulate) {
        KernelArguments.nf4(packed, absmax, nestedAbsmax, n * k, blockSize);
        Object[] frozen = arrays(packed, absmax, nestedAbsmax, NF4_CODE, DYNAMIC_MAP);
        Object[] inputs = arrays(c, a);
        Object[] arguments = arrays(layout, c, a, packed, absmax, nestedAbsmax, offset, blockSize, m, n, k, accumulate);
        int add = accumulate ? 1 : 0;
        switch (layout) {
            case ABT -> run("nf4AbtDq", frozen, inputs, arrays(c), arguments,
                    g -> g.task("t", Nf4Kernels::matmulAbtDoubleQuant, c, a, packed, absmax, nestedAbsmax, NF4_CODE,
                            DYNAMIC_MAP, offset, blockSize, n, k, add, 0, m));
            case AB -> run("nf4AbDq", frozen, inputs, arrays(c), arguments,
                    g -> g.task("t", Nf4Kernels::matmulAbDoubleQuant, c, a, packed, absmax, nestedAbsmax, NF4_CODE,
                            DYNAMIC_MAP, offset, blockSize, n, k, add, 0, m));
            case ATB -> throw KernelArguments.nf4WeightGradient();
        }
    }
}
