package io.gradus.kernels.cpu;

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
import io.gradus.kernels.reference.Nf4Kernels;
import io.gradus.kernels.reference.OptimizerKernels;
import io.gradus.kernels.reference.RopeKernels;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The pure-Java backend, the default everywhere. Each kernel's independent outer loop (rows,
 * heads, columns) is split into blocks on a shared fork-join pool. Matrix products, attention,
 * RMSNorm, SwiGLU and cross-entropy run on the Vector API ({@link VectorMatmul},
 * {@link VectorAttention}, {@link VectorNorm}, {@link VectorElementwise}) and are tested against the
 * reference kernels within float rounding;
 * the other kernels run the reference kernels themselves on each block, so they equal them exactly.
 */
@Component(property = KernelBackend.NAME_PROPERTY + "=cpu")
public final class CpuKernelBackend implements KernelBackend {

    /** Work (inner iterations) below which a block is not split further: forking would cost more. */
    static final long GRAIN = 1 << 15;

    /**
     * Multiply-adds per block of a narrow product (a LoRA branch's), below which it is not split:
     * about 10 µs of one core's vector work, more than waking a parked worker costs (and far more
     * than {@link #GRAIN}, which counts scalar work).
     */
    static final long NARROW_GRAIN = 1 << 20;

    /** Output columns of an NF4 product per group (see {@link #nf4Matmul}): k × 512 floats expanded at a time. */
    static final int NF4_GROUP = 512;

    private static final float[] NF4_CODE = Nf4.code();

    private static final float[] DYNAMIC_MAP = Nf4DoubleQuant.dynamicMap();

    /** Elements per partial sum of {@link #sumOfSquares}. */
    private static final int SUM_BLOCK = 1 << 14;

    /** System property: worker threads of the backend (default: one per available processor). */
    public static final String THREADS_PROPERTY = "gradus.kernel.threads";

    private final ForkJoinPool pool;

    /**
     * A backend with its own pool of {@value #THREADS_PROPERTY} threads (default: all processors).
     * Not the common pool: that one has one thread fewer than the machine has processors.
     */
    public CpuKernelBackend() {
        this(new ForkJoinPool(Integer.getInteger(THREADS_PROPERTY, Runtime.getRuntime().availableProcessors())));
    }

    public CpuKernelBackend(ForkJoinPool pool) {
        this.pool = pool;
    }

    /** Stops the worker threads when the component goes away (bundle stopped or updated). */
    @Deactivate
    void deactivate() {
        pool.shutdown();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "pure Java on " + pool.getParallelism() + " threads";
    }

    @Override
    public double crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] dLogits, float gradScale) {
        KernelArguments.crossEntropy(logits, rows, vocab, targets, dLogits);
        float[] rowLoss = new float[rows];
        parallel(rows, vocab, (from, to) -> VectorElementwise.crossEntropyRows(logits, vocab, targets, rowLoss, dLogits, gradScale, from, to));
        double total = 0;
        for (float loss : rowLoss) {
            total += loss;
        }
        return total;
    }

    @Override
    public void tokenLogProbs(float[] logits, int rows, int vocab, int[] targets, float[] logProbs, float[] entropies) {
        KernelArguments.tokenLogProbs(logits, rows, vocab, targets, logProbs, entropies);
        parallel(rows, vocab, (from, to) -> VectorElementwise.tokenLogProbsRows(logits, vocab, targets, logProbs, entropies,
                from, to));
    }

    @Override
    public void tokenLogProbsBackward(float[] dLogits, float[] logits, int rows, int vocab, int[] targets,
            float[] dLogProbs) {
        KernelArguments.tokenLogProbs(logits, rows, vocab, targets, dLogProbs, null);
        KernelArguments.crossEntropy(logits, rows, vocab, targets, dLogits);
        parallel(rows, vocab, (from, to) -> VectorElementwise.tokenLogProbsBackwardRows(dLogits, logits, vocab, targets,
                dLogProbs, from, to));
    }

    @Override
    public void matmul(MatmulLayout layout, float[] c, float[] a, float[] b, int m, int n, int k, boolean accumulate) {
        if (layout == MatmulLayout.ATB && VectorMatmul.narrow(n)) {
            // Cᵀ = Bᵀ·A with vectors along m (a LoRA B's gradient): no transpose of the large A.
            float[] ct = new float[n * m];
            float[] ranks = VectorMatmul.padRanks(b, false, n, k, VectorMatmul.RANK_BLOCK);
            parallelStrips(m, n, k, (from, to) -> VectorMatmul.atbNarrow(ct, a, ranks, m, n, k, false, from, to));
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    c[i * n + j] = accumulate ? c[i * n + j] + ct[j * m + i] : ct[j * m + i];
                }
            }
            return;
        }
        if (layout == MatmulLayout.ATB && VectorMatmul.narrow(m)) {
            // C = Aᵀ·B with few rows (a LoRA A's gradient): atbNarrow with the roles of A and B
            // exchanged computes C itself, reading B's rows in place instead of packing all of B.
            float[] ranks = VectorMatmul.padRanks(a, false, m, k, VectorMatmul.RANK_BLOCK);
            parallelStrips(n, m, k, (from, to) -> VectorMatmul.atbNarrow(c, b, ranks, n, m, k, accumulate, from, to));
            return;
        }
        if (VectorMatmul.narrow(n)) {
            // Outputs too narrow for the packed panels (a LoRA rank, say): op(B) in blocks of a vector
            // of ranks, k rows each, and blocks of whole 8-row tiles on the threads.
            float[] ranks = VectorMatmul.padRanks(b, layout == MatmulLayout.ABT, n, k, VectorMatmul.RANK_LANES);
            int tile = VectorMatmul.NARROW_ROWS;
            parallelNarrow((m + tile - 1) / tile, (long) tile * n * k, (from, to) -> VectorMatmul.narrowColumns(c, a,
                    ranks, n, k, accumulate, from * tile, Math.min(m, to * tile)));
            return;
        }
        // op(B) packed once, in parallel, then blocks of whole 6-row tiles of C on the threads.
        int bStrideP = layout == MatmulLayout.ABT ? 1 : n;
        int bStrideJ = layout == MatmulLayout.ABT ? k : 1;
        int aStrideI = layout == MatmulLayout.ATB ? 1 : k;
        int aStrideP = layout == MatmulLayout.ATB ? m : 1;
        float[] packed = new float[k * VectorMatmul.packedColumns(n)];
        // Rows of op(B) on the threads in runs of whole squares, so that pack's transposed squares
        // start where a thread's range starts (a split into 12 or 24 rows left a third to all of
        // them to the scalar copy).
        int square = VectorMatmul.SQUARE;
        parallel((k + square - 1) / square, (long) square * n, (from, to) -> VectorMatmul.pack(packed, b, 0, bStrideP,
                bStrideJ, n, k, from * square, Math.min(k, to * square)));
        parallelTiles(m, (long) n * k, (from, to) -> VectorMatmul.multiplyPacked(c, a, aStrideI, aStrideP, packed, n, k,
                accumulate, from, to));
    }

    @Override
    public void add(float[] y, float[] x, int n) {
        parallel(n, 1, (from, to) -> ElementwiseKernels.add(y, x, from, to));
    }

    @Override
    public void rmsNormForward(float[] out, float[] rstd, float[] x, float[] weight, int rows, int dim, float eps) {
        parallel(rows, dim, (from, to) -> VectorNorm.forward(out, rstd, x, weight, dim, eps, from, to));
    }

    @Override
    public void rmsNormBackward(float[] dx, float[] dWeight, float[] dOut, float[] x, float[] weight, float[] rstd,
            int rows, int dim) {
        parallel(rows, dim, (from, to) -> VectorNorm.backward(dx, dOut, x, weight, rstd, dim, from, to));
        if (dWeight != null) {
            parallel(dim, rows, (from, to) -> VectorNorm.weightGradient(dWeight, dOut, x, rstd, rows, dim, from, to));
        }
    }

    @Override
    public void rope(float[] x, float[] cos, float[] sin, int batch, int seq, int heads, int headDim, boolean inverse) {
        parallel(batch * seq, (long) heads * headDim,
                (from, to) -> RopeKernels.rope(x, cos, sin, seq, heads, headDim, inverse ? -1f : 1f, from, to));
    }

    @Override
    public void attentionForward(float[] out, float[] att, float[] q, float[] k, float[] v, int batch, int seq,
            int heads, int kvHeads, int headDim) {
        // One task per (batch, key/value head, block of queries): each packs its K and V once for the group.
        parallel(batch * kvHeads * VectorAttention.queryBlocks(seq),
                (long) (heads / kvHeads) * 2 * VectorAttention.QUERY_BLOCK * seq * headDim,
                (from, to) -> VectorAttention.forward(out, att, q, k, v, seq, heads, kvHeads, headDim, from, to));
    }

    @Override
    public void attentionBackward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] att, float[] q, float[] k,
            float[] v, int batch, int seq, int heads, int kvHeads, int headDim) {
        parallel(batch * kvHeads, (long) (heads / kvHeads) * 4 * seq * seq * headDim,
                (from, to) -> VectorAttention.backward(dq, dk, dv, dOut, att, q, k, v, seq, heads, kvHeads, headDim,
                        from, to));
    }

    @Override
    public void attentionDecode(float[] out, float[] q, float[] kCache, float[] vCache, int length, int heads,
            int kvHeads, int headDim) {
        float[] scores = new float[heads * length];
        parallel(heads, (long) length * headDim,
                (from, to) -> AttentionKernels.decode(out, q, kCache, vCache, scores, length, heads, kvHeads, headDim, from, to));
    }

    @Override
    public void dropout(float[] out, float[] x, int n, float p, long seed) {
        KernelArguments.dropout(p);
        parallel(n, 8, (from, to) -> ElementwiseKernels.dropout(out, x, p, seed, from, to));
    }

    @Override
    public void swigluForward(float[] h, float[] g, float[] u, int n) {
        parallel(n, 8, (from, to) -> VectorElementwise.swigluForward(h, g, u, from, to));
    }

    @Override
    public void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int n) {
        parallel(n, 8, (from, to) -> VectorElementwise.swigluBackward(dg, du, dh, g, u, from, to));
    }

    @Override
    public void activationForward(Activation f, float[] out, float[] x, int n) {
        int kind = f.ordinal();
        parallel(n, 16, (from, to) -> ActivationKernels.forward(kind, out, x, from, to));
    }

    @Override
    public void activationBackward(Activation f, float[] dx, float[] dy, float[] x, int n) {
        int kind = f.ordinal();
        parallel(n, 16, (from, to) -> ActivationKernels.backward(kind, dx, dy, x, from, to));
    }

    @Override
    public void embeddingForward(float[] out, float[] table, int[] ids, int n, int dim) {
        KernelArguments.embedding(table, ids, n, dim);
        parallel(n, dim, (from, to) -> EmbeddingKernels.forward(out, table, ids, dim, from, to));
    }

    @Override
    public void embeddingBackward(float[] dTable, float[] dOut, int[] ids, int n, int dim) {
        parallel(dim, n, (from, to) -> VectorElementwise.embeddingBackward(dTable, dOut, ids, n, dim, from, to));
    }

    @Override
    public double sumOfSquares(float[] x, int n) {
        // Fixed blocks summed in block order: the result does not depend on thread timing.
        int blocks = (n + SUM_BLOCK - 1) / SUM_BLOCK;
        double[] partial = new double[blocks];
        parallel(blocks, SUM_BLOCK, (from, to) -> OptimizerKernels.sumOfSquares(x, partial, n, SUM_BLOCK, from, to));
        double sum = 0;
        for (double p : partial) {
            sum += p;
        }
        return sum;
    }

    @Override
    public void scale(float[] x, float factor, int n) {
        parallel(n, 1, (from, to) -> OptimizerKernels.scale(x, factor, from, to));
    }

    @Override
    public void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
            float weightDecay, int step) {
        KernelArguments.adamwStep(step);
        float bc1 = (float) (1 - Math.pow(beta1, step));
        float bc2 = (float) (1 - Math.pow(beta2, step));
        parallel(n, 8, (from, to) -> OptimizerKernels.adamw(p, g, m, v, lr, beta1, beta2, eps, weightDecay, bc1, bc2, from, to));
    }

    @Override
    public void nf4Dequantize(float[] out, byte[] packed, float[] absmax, int n, int blockSize) {
        KernelArguments.nf4(packed, absmax, n, blockSize);
        parallel(n, 2, (from, to) -> Nf4Kernels.dequantize(out, packed, absmax, NF4_CODE, blockSize, from, to));
    }

    /**
     * Fused one group of {@value #NF4_GROUP} output columns at a time: that group of the weight is
     * expanded straight into the matmul kernel's packed panels (k × {@value #NF4_GROUP} floats) and
     * multiplied by the same micro-kernel as float weights; the whole weight never exists in float
     * form.
     */
    @Override
    public void nf4Matmul(MatmulLayout layout, float[] c, float[] a, byte[] packed, float[] absmax, int blockSize,
            int m, int n, int k, boolean accumulate) {
        KernelArguments.nf4(packed, absmax, n * k, blockSize);
        if (layout == MatmulLayout.ATB) {
            throw KernelArguments.nf4WeightGradient();
        }
        // op(B)(p, j) is W[j, p] of W [n, k] for A·Wᵀ, and W[p, j] of W [k, n] for A·W.
        int strideP = layout == MatmulLayout.ABT ? 1 : n;
        int strideJ = layout == MatmulLayout.ABT ? k : 1;
        float[] panels = new float[k * VectorMatmul.packedColumns(Math.min(NF4_GROUP, n))];
        for (int j0 = 0; j0 < n; j0 += NF4_GROUP) {
            int first = j0;
            int width = Math.min(NF4_GROUP, n - j0);
            parallel(k, width, (from, to) -> VectorMatmul.packNf4(panels, packed, absmax, NF4_CODE, blockSize, strideP,
                    strideJ, first, width, k, from, to));
            parallelTiles(m, (long) width * k, (from, to) -> VectorMatmul.multiplyPacked(c, n, first, a, k, 1, panels,
                    width, k, accumulate, from, to));
        }
    }

    @Override
    public void nf4Dequantize(float[] out, byte[] packed, byte[] absmax, float[] nestedAbsmax, float offset, int n,
            int blockSize) {
        KernelArguments.nf4(packed, absmax, nestedAbsmax, n, blockSize);
        nf4Dequantize(out, packed, decodeScales(absmax, nestedAbsmax, offset, Nf4.blocks(n, blockSize)), n, blockSize);
    }

    /**
     * Decodes the 8-bit scales into floats for this call (n·k/64 floats, 1/64 of the weight's
     * elements, as bitsandbytes' {@code dequantize_4bit} does), then runs the fused float-scale
     * product: the decoded scales are dropped after the call, so a resident weight stays in its
     * compressed form.
     */
    @Override
    public void nf4Matmul(MatmulLayout layout, float[] c, float[] a, byte[] packed, byte[] absmax,
            float[] nestedAbsmax, float offset, int blockSize, int m, int n, int k, boolean accumulate) {
        KernelArguments.nf4(packed, absmax, nestedAbsmax, n * k, blockSize);
        float[] scales = decodeScales(absmax, nestedAbsmax, offset, Nf4.blocks(n * k, blockSize));
        nf4Matmul(layout, c, a, packed, scales, blockSize, m, n, k, accumulate);
    }

    private float[] decodeScales(byte[] absmax, float[] nestedAbsmax, float offset, int blocks) {
        float[] scales = new float[blocks];
        parallel(blocks, 2, (from, to) -> Nf4Kernels.dequantizeScales(scales, absmax, nestedAbsmax, DYNAMIC_MAP, offset,
                from, to));
        return scales;
    }

    /** {@link VectorMatmul#atbNarrow} over [0, wide) in strips of one vector, on the threads. */
    private void parallelStrips(int wide, int narrow, int k, RangeKernel kernel) {
        int lanes = VectorMatmul.NR / 2;
        int strips = (wide + lanes - 1) / lanes;
        parallelNarrow(strips, (long) lanes * narrow * k, (from, to) -> kernel.run(from * lanes, Math.min(wide,
                to * lanes)));
    }

    /**
     * A narrow product's {@code count} items in blocks of at least {@link #NARROW_GRAIN}
     * multiply-adds: a LoRA step makes hundreds of these small products, and halving them down to
     * {@link #GRAIN} forked ten tasks of a microsecond each per product. Larger products (MEDIUM's)
     * still split into several blocks per thread, so that a thread the machine's other processes
     * hold up does not hold up the product.
     */
    private void parallelNarrow(int count, long workPerItem, RangeKernel kernel) {
        runBlocks(count, block(count, workPerItem, NARROW_GRAIN), kernel);
    }

    /** Items per block when a block should hold about {@code grain} work (one item at least, all at most). */
    static int block(int count, long workPerItem, long grain) {
        return (int) Math.max(1, Math.min(count, grain / Math.max(1, workPerItem)));
    }

    /**
     * Rows of a matrix product in blocks of whole {@link VectorMatmul#MR}-row tiles (only the last
     * block may hold a partial tile), two blocks per thread: each block sweeps its rows past every
     * packed panel of B while the panel is in L1, so blocks must be tall, not merely numerous.
     */
    private void parallelTiles(int rows, long workPerRow, RangeKernel kernel) {
        if (rows * workPerRow <= GRAIN) {
            kernel.run(0, rows);
            return;
        }
        int tile = VectorMatmul.MR;
        int tiles = (rows + tile - 1) / tile;
        int block = Math.max(1, (tiles + 2 * pool.getParallelism() - 1) / (2 * pool.getParallelism()));
        runBlocks(tiles, block, (from, to) -> kernel.run(from * tile, Math.min(rows, to * tile)));
    }

    /**
     * Runs {@code kernel} over [0, count), halving the range until blocks hold about {@link #GRAIN}
     * work (one item at least): enough per block that forking costs less than it saves.
     */
    private void parallel(int count, long workPerItem, RangeKernel kernel) {
        runBlocks(count, block(count, workPerItem, GRAIN), kernel);
    }

    private void runBlocks(int count, int block, RangeKernel kernel) {
        if (count <= block) {
            kernel.run(0, count);
        } else {
            pool.invoke(new Blocks(0, count, block, kernel));
        }
    }

    /** A kernel over a half-open range of its outer index. */
    @FunctionalInterface
    interface RangeKernel {
        void run(int from, int to);
    }

    /** Splits [from, to) in halves until blocks are small, then runs the kernel on each block. */
    private static final class Blocks extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int from;
        private final int to;
        private final int block;
        private final transient RangeKernel kernel;

        Blocks(int from, int to, int block, RangeKernel kernel) {
            this.from = from;
            this.to = to;
            this.block = block;
            this.kernel = kernel;
        }

        @Override
        protected void compute() {
            if (to - from <= block) {
                kernel.run(from, to);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Blocks(from, mid, block, kernel), new Blocks(mid, to, block, kernel));
        }
    }
}
