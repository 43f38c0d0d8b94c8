package io.gradus.kernels.cpu;

import io.gradus.api.kernel.MatmulLayout;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which code paths of the CPU matrix products (and of attention, on the same tile) a shape reaches,
 * worked out from the kernels' own blocking constants ({@link VectorMatmul#KC}, {@link VectorMatmul#NR},
 * {@link VectorMatmul#MR}, {@link VectorAttention#QUERY_BLOCK}, {@link CpuKernelBackend#NF4_GROUP})
 * and the vector width of this machine. The parity tests use it
 * to prove that their shapes reach every path: several blocks of the shared dimension with a
 * partial last one, whole and partial panels, whole tiles and leftover rows, several NF4 column
 * groups with a partial last one. A change of a constant (or a machine with wider vectors) that
 * leaves a path unreached then fails the test instead of silently shrinking its coverage.
 */
final class KernelPaths {

    private KernelPaths() {}

    /** The paths {@link CpuKernelBackend#matmul} takes for C[m,n] = op(A)·op(B) with shared dimension k. */
    static Set<String> matmul(MatmulLayout layout, int m, int n, int k, boolean accumulate) {
        Set<String> paths = new TreeSet<>();
        String name = layout.name();
        int lanes = VectorMatmul.NR / 2;
        if (layout == MatmulLayout.ATB && VectorMatmul.narrow(n)) {
            // atbNarrow into a transposed scratch: strips of one vector of rows of C, 8 columns at a time.
            atbNarrow(paths, name + " narrow", m, n, k);
        } else if (layout == MatmulLayout.ATB && VectorMatmul.narrow(m)) {
            // atbNarrow with the operands exchanged: strips of one vector of columns of C, 8 rows at a time, into C.
            atbNarrow(paths, name + " narrow rows", n, m, k);
            paths.add(name + " narrow rows" + (accumulate ? ": accumulate" : ": overwrite"));
        } else if (VectorMatmul.narrow(n)) {
            // narrowColumns: 8-row tiles, then leftover rows; vectors of ranks, the last one padded.
            int tile = VectorMatmul.NARROW_ROWS;
            long blockWork = (long) tile * n * k;
            when(paths, m >= tile, name + " narrow: 8-row tiles");
            when(paths, m % tile != 0, name + " narrow: leftover rows");
            when(paths, n >= VectorMatmul.RANK_LANES, name + " narrow: whole vectors of ranks");
            when(paths, n % VectorMatmul.RANK_LANES != 0, name + " narrow: a vector of ranks padded with zeros");
            int blocks = (m + tile - 1) / tile;
            when(paths, blocks > CpuKernelBackend.block(blocks, blockWork, CpuKernelBackend.NARROW_GRAIN),
                    name + " narrow: rows on several threads");
        } else {
            paths.addAll(packed(name, m, n, k, accumulate));
            if (layout == MatmulLayout.ABT) {
                paths.addAll(transposedPack(n, k));
            }
        }
        return paths;
    }

    /**
     * The paths of {@link VectorMatmul#pack} for an op(B) that is B [n, k] read transposed (A·Bᵀ),
     * whose rows the backend splits over the threads in runs of {@link VectorMatmul#SQUARE}.
     */
    static Set<String> transposedPack(int n, int k) {
        Set<String> paths = new TreeSet<>();
        int square = VectorMatmul.SQUARE;
        when(paths, VectorMatmul.TRANSPOSE && n >= VectorMatmul.NR && k >= square,
                "A·Bᵀ pack: whole panels in 16 × 16 squares transposed in registers");
        when(paths, n >= VectorMatmul.NR && (!VectorMatmul.TRANSPOSE || k % square != 0),
                "A·Bᵀ pack: whole panels' shared indices past the squares, one at a time");
        when(paths, n % VectorMatmul.NR != 0, "A·Bᵀ pack: a partial panel, one shared index at a time");
        return paths;
    }

    /**
     * The paths of {@link VectorMatmul#atbNarrow} over {@code wide} vector lanes and {@code narrow}
     * broadcast values (ranks) with shared dimension k, as {@link CpuKernelBackend} splits its strips.
     */
    private static void atbNarrow(Set<String> paths, String name, int wide, int narrow, int k) {
        int lanes = VectorMatmul.NR / 2;
        int strips = (wide + lanes - 1) / lanes;
        long stripWork = (long) lanes * narrow * k;
        when(paths, wide >= lanes, name + ": whole strips");
        when(paths, wide % lanes != 0, name + ": a partial last strip, copied");
        when(paths, narrow >= VectorMatmul.RANK_BLOCK, name + ": a whole block of ranks");
        when(paths, narrow % VectorMatmul.RANK_BLOCK != 0, name + ": a block of ranks padded with zeros");
        when(paths, strips > CpuKernelBackend.block(strips, stripWork, CpuKernelBackend.NARROW_GRAIN), name + ": strips on several threads");
    }

    /** The paths of {@link VectorMatmul#multiplyPacked} for a packed op(B) of n columns. */
    static Set<String> packed(String name, int m, int n, int k, boolean accumulate) {
        Set<String> paths = new TreeSet<>();
        when(paths, k > VectorMatmul.KC, name + ": several blocks of k");
        when(paths, k > VectorMatmul.KC && k % VectorMatmul.KC != 0, name + ": a partial last block of k");
        when(paths, n >= VectorMatmul.NR, name + ": whole panels");
        when(paths, n % VectorMatmul.NR != 0, name + ": a partial last panel");
        when(paths, m >= VectorMatmul.MR, name + ": 6-row tiles");
        when(paths, m % VectorMatmul.MR != 0, name + ": leftover rows");
        boolean slivered = VectorMatmul.packedColumns(n) >= VectorMatmul.SLIVER_COLUMNS;
        when(paths, m >= VectorMatmul.MR && slivered, name + ": 6-row tiles on slivers of A");
        boolean inPlace = m >= VectorMatmul.MR && !slivered;
        boolean pairs = VectorMatmul.PANEL_PAIRS;
        when(paths, inPlace && pairs && n >= 2 * VectorMatmul.NR, name + ": 6-row tiles on pairs of panels, reading A in place");
        when(paths, inPlace && (pairs ? n / VectorMatmul.NR % 2 == 1 : n >= VectorMatmul.NR),
                name + ": 6-row tiles on a lone whole panel, reading A in place");
        when(paths, m >= VectorMatmul.MR && slivered && n % VectorMatmul.NR != 0 && accumulate,
                name + ": a partial last panel in 6-row tiles, accumulating (tile6Columns' copy)");
        paths.add(name + (accumulate ? ": accumulate" : ": overwrite"));
        return paths;
    }

    /** The paths of {@link CpuKernelBackend#nf4Matmul}: its column groups, each a packed product. */
    static Set<String> nf4Matmul(MatmulLayout layout, int m, int n, int k, boolean accumulate) {
        Set<String> paths = new TreeSet<>();
        String name = "NF4 " + layout.name();
        int group = CpuKernelBackend.NF4_GROUP;
        when(paths, n > group, name + ": several column groups");
        when(paths, n > group && n % group != 0, name + ": a partial last column group");
        for (int j0 = 0; j0 < n; j0 += group) {
            paths.addAll(packed(name, m, Math.min(group, n - j0), k, accumulate));
        }
        return paths;
    }

    /**
     * The paths of {@link VectorAttention} for causal attention over {@code seq} positions: query
     * blocks (whole, partial), register tiles and leftover rows, key panels and head panels (whole,
     * partial), several blocks of the shared dimension when a product runs over more than
     * {@link VectorMatmul#KC} keys or head elements, softmax rows of at least a vector, and query
     * heads per key/value head (one, several).
     */
    static Set<String> attention(int batch, int seq, int heads, int kvHeads, int headDim) {
        Set<String> paths = new TreeSet<>();
        int lanes = VectorMatmul.NR / 2;
        when(paths, seq > VectorAttention.QUERY_BLOCK, "attention: several query blocks");
        when(paths, seq % VectorAttention.QUERY_BLOCK != 0, "attention: a partial last query block");
        when(paths, seq >= VectorMatmul.MR, "attention: 6-row tiles");
        when(paths, seq % VectorMatmul.MR != 0, "attention: leftover rows");
        when(paths, seq >= VectorMatmul.NR, "attention: whole key panels");
        when(paths, seq % VectorMatmul.NR != 0, "attention: a partial key panel");
        when(paths, headDim >= VectorMatmul.NR, "attention: whole head panels");
        when(paths, headDim % VectorMatmul.NR != 0, "attention: a partial head panel");
        // Pairs of panels read A in place (512-bit vectors only). Key panels: a query tile that sees
        // fewer keys than SLIVER_COLUMNS but at least two panels of them. Head panels: a head of at
        // least two panels but fewer than SLIVER_COLUMNS columns.
        boolean pairs = VectorMatmul.PANEL_PAIRS && seq >= VectorMatmul.MR;
        when(paths, pairs && seq >= 2 * VectorMatmul.NR, "attention: pairs of key panels");
        when(paths, pairs && headDim >= 2 * VectorMatmul.NR && headDim < VectorMatmul.SLIVER_COLUMNS,
                "attention: pairs of head panels");
        when(paths, seq > VectorMatmul.KC, "attention: several blocks of keys");
        when(paths, headDim > VectorMatmul.KC, "attention: several blocks of the head size");
        when(paths, seq >= lanes, "attention: softmax vectors");
        when(paths, heads == kvHeads, "attention: one query head per key/value head");
        when(paths, heads > kvHeads, "attention: several query heads per key/value head");
        when(paths, batch > 1, "attention: several sequences");
        return paths;
    }

    private static void when(Set<String> paths, boolean reached, String path) {
        if (reached) {
            paths.add(path);
        }
    }
}
