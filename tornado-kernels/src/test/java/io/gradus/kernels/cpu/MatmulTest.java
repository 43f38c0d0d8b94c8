package io.gradus.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.kernel.MatmulLayout;
import io.gradus.kernels.reference.MatmulKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class MatmulTest {

    /** One product C[m,n] (+)= op(A)·op(B) with shared dimension k. */
    record Shape(MatmulLayout layout, int m, int n, int k, boolean accumulate) {
        @Override
        public String toString() {
            return layout + " " + m + "x" + n + "x" + k + (accumulate ? " accumulate" : "");
        }
    }

    /**
     * Shapes chosen to reach every path on any vector width up to 512 bits ({@link #shapesReachEveryPath}
     * checks it against the kernels' constants): k = 531 is two whole blocks of 256 and a partial
     * one, n = 71 whole panels and a partial one, m = 23 three 6-row tiles and 5 rows over; 7
     * columns are narrower than two vectors everywhere, and so are 7 or 23 rows of Aᵀ·B (its narrow-rows path); 69 rows are not.
     * 13 narrow columns (or rows of Aᵀ·B: a LoRA rank) are a whole block of eight ranks and a
     * padded one, with vectors wide enough (AVX2 or AVX-512) for 13 to be narrow.
     */
    static List<Shape> shapes() {
        List<Shape> shapes = new ArrayList<>();
        for (MatmulLayout layout : MatmulLayout.values()) {
            for (boolean accumulate : new boolean[] {false, true}) {
                shapes.add(new Shape(layout, 23, 71, 531, accumulate));   // packed: partial block, panel, tile
                shapes.add(new Shape(layout, 37, 271, 531, accumulate));  // slivers: several tiles a call
                shapes.add(new Shape(layout, 69, 7, 37, accumulate));     // narrow: every leftover
            }
            shapes.add(new Shape(layout, 12, 64, 512, true));             // packed: whole blocks, panels, tiles
            shapes.add(new Shape(layout, 37, 45, 29, false));
            // in place: a pair of panels, a lone one, a partial one; 37 rows, not narrow for Aᵀ·B either
            shapes.add(new Shape(layout, 37, 3 * VectorMatmul.NR + 1, 300, false));
            shapes.add(new Shape(layout, 3, 5, 7, true));                 // less than one of everything
        }
        for (boolean accumulate : new boolean[] {false, true}) {
            shapes.add(new Shape(MatmulLayout.ATB, 69, 71, 531, accumulate)); // packed Aᵀ·B: every path
            shapes.add(new Shape(MatmulLayout.ATB, 7, 71, 37, accumulate));   // narrow rows: every leftover
            // rank 13 = a whole block of 8 and one padded; 311 wide: a partial strip; 311·13·531 = 2.1 M
            // multiply-adds: two narrow grains, so two blocks on the threads
            shapes.add(new Shape(MatmulLayout.ATB, 311, 13, 531, accumulate));
            shapes.add(new Shape(MatmulLayout.ATB, 13, 311, 531, accumulate));
        }
        shapes.add(new Shape(MatmulLayout.ATB, 8, 48, 300, true));            // rank 8 exactly, whole strips only
        shapes.add(new Shape(MatmulLayout.ATB, 48, 8, 300, false));
        for (MatmulLayout layout : new MatmulLayout[] {MatmulLayout.AB, MatmulLayout.ABT}) {
            // 13 narrow columns: a whole vector of ranks and a padded one; 311 rows over several threads
            shapes.add(new Shape(layout, 311, 13, 531, false));
            shapes.add(new Shape(layout, 311, 13, 531, true));
        }
        shapes.add(new Shape(MatmulLayout.AB, 130, 8, 64, false));
        shapes.add(new Shape(MatmulLayout.ABT, 1, 33, 17, false));
        shapes.add(new Shape(MatmulLayout.ATB, 6, 31, 2, true));
        return shapes;
    }

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    @Test
    @DisplayName("the test shapes reach every path of the CPU matmul, by the kernels' own blocking constants")
    void shapesReachEveryPath() {
        Set<String> reached = new TreeSet<>();
        shapes().forEach(s -> reached.addAll(KernelPaths.matmul(s.layout(), s.m(), s.n(), s.k(), s.accumulate())));
        Set<String> every = new TreeSet<>();
        int rank = VectorMatmul.RANK_BLOCK + 5;
        int deep = 2 * VectorMatmul.KC + 1;
        int wide = 20 * VectorMatmul.NR + 1; // wide · rank · deep: over two narrow grains
        for (MatmulLayout layout : MatmulLayout.values()) {
            every.addAll(KernelPaths.packed(layout.name(), 2 * VectorMatmul.MR + 1, 3 * VectorMatmul.NR + 1,
                    2 * VectorMatmul.KC + 1, true));
            every.addAll(KernelPaths.packed(layout.name(), 2 * VectorMatmul.MR + 1, VectorMatmul.SLIVER_COLUMNS + 1,
                    2 * VectorMatmul.KC + 1, true));
            every.add(layout + ": overwrite");
            every.addAll(KernelPaths.matmul(layout, VectorMatmul.NR + 1, 5, VectorMatmul.NR + 1, false));
            every.addAll(KernelPaths.matmul(layout, wide, rank, deep, false));
        }
        every.addAll(KernelPaths.matmul(MatmulLayout.ATB, rank, wide, deep, false));
        every.addAll(KernelPaths.matmul(MatmulLayout.ATB, rank, wide, deep, true));
        every.addAll(KernelPaths.transposedPack(3 * VectorMatmul.NR + 1, 2 * VectorMatmul.KC + 1));
        assertThat(VectorMatmul.KC % VectorMatmul.SQUARE).as("blocks of k hold whole transposed squares").isZero();
        assertThat(every).as("every path").hasSize(3 * (VectorMatmul.PANEL_PAIRS ? 12 : 11) + 5 + 5 + 5 + 7
                + (VectorMatmul.TRANSPOSE ? 3 : 2));
        assertThat(reached).as("paths reached by the test shapes").containsAll(every);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    @DisplayName("the vectorised CPU matmul equals the reference kernel and a double-precision product")
    void matchesReference(Shape shape) {
        MatmulLayout layout = shape.layout();
        int m = shape.m();
        int n = shape.n();
        int k = shape.k();
        boolean accumulate = shape.accumulate();
        Random random = new Random(m * 1000 + n * 10 + k);
        float[] a = randoms(random, m * k);
        float[] b = randoms(random, k * n);
        float[] start = randoms(random, m * n);
        float[] cpuOut = start.clone();
        float[] refOut = start.clone();

        cpu.matmul(layout, cpuOut, a, b, m, n, k, accumulate);
        int flag = accumulate ? 1 : 0;
        switch (layout) {
            case AB -> MatmulKernels.ab(refOut, a, b, n, k, flag, 0, m);
            case ABT -> MatmulKernels.abt(refOut, a, b, n, k, flag, 0, m);
            case ATB -> MatmulKernels.atb(refOut, a, b, m, n, k, flag, 0, m);
        }
        double maxCpu = 0;
        double maxRef = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = accumulate ? start[i * n + j] : 0;
                for (int p = 0; p < k; p++) {
                    double x = switch (layout) {
                        case AB, ABT -> a[i * k + p];
                        case ATB -> a[p * m + i];
                    };
                    double y = layout == MatmulLayout.ABT ? b[j * k + p] : b[p * n + j];
                    exact += x * y;
                }
                maxCpu = Math.max(maxCpu, Math.abs(cpuOut[i * n + j] - exact));
                maxRef = Math.max(maxRef, Math.abs(refOut[i * n + j] - exact));
            }
        }
        // Float sums of k products of O(1) values: rounding grows like sqrt(k)·eps; 1e-5·k is ample.
        assertThat(maxCpu).as("CPU vs exact").isLessThan(1e-5 * k);
        assertThat(maxRef).as("reference vs exact").isLessThan(1e-5 * k);
    }

    static float[] randoms(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
