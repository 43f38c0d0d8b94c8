package io.gradus.kernels.cpu;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.kernels.reference.LossKernels;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import org.osgi.service.component.annotations.Component;

/**
 * The pure-Java backend, the default everywhere. Work is split over row blocks on a shared
 * fork-join pool; each block runs the reference kernel, so both agree bit for bit on every row.
 */
@Component(property = KernelBackend.NAME_PROPERTY + "=cpu")
public final class CpuKernelBackend implements KernelBackend {

    /** Below this many elements a job runs on the calling thread: forking would cost more than it saves. */
    private static final int SEQUENTIAL_ELEMENTS = 1 << 15;

    private final ForkJoinPool pool;

    public CpuKernelBackend() {
        this(ForkJoinPool.commonPool());
    }

    public CpuKernelBackend(ForkJoinPool pool) {
        this.pool = pool;
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
        if (logits.length < (long) rows * vocab || targets.length < rows
                || (dLogits != null && dLogits.length < (long) rows * vocab)) {
            throw new IllegalArgumentException("crossEntropy: arrays too short for " + rows + " rows of " + vocab);
        }
        for (int r = 0; r < rows; r++) {
            if (targets[r] >= vocab) {
                throw new IllegalArgumentException(
                        "crossEntropy: target " + targets[r] + " of row " + r + " is outside the vocabulary of " + vocab);
            }
        }
        float[] rowLoss = new float[rows];
        int rowsPerBlock = Math.max(1, SEQUENTIAL_ELEMENTS / Math.max(1, vocab));
        pool.invoke(new RowBlocks(0, rows, rowsPerBlock,
                (from, to) -> LossKernels.crossEntropyRows(logits, vocab, targets, rowLoss, dLogits, gradScale, from, to)));
        double total = 0;
        for (float loss : rowLoss) {
            total += loss;
        }
        return total;
    }

    /** A kernel over a half-open range of rows. */
    @FunctionalInterface
    interface RowKernel {
        void run(int from, int to);
    }

    /** Splits [from, to) in halves until blocks are small, then runs the kernel on each block. */
    private static final class RowBlocks extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int from;
        private final int to;
        private final int block;
        private final transient RowKernel kernel;

        RowBlocks(int from, int to, int block, RowKernel kernel) {
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
            invokeAll(new RowBlocks(from, mid, block, kernel), new RowBlocks(mid, to, block, kernel));
        }
    }
}
