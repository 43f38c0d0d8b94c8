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
            // atbNarrow into a transposed scratch: strips of NR rows of C (the last one masked), 4 columns at a time.
            atbNarrow(paths, name + " narrow", m, n);
        } else if (layout == MatmulLayout.ATB && VectorMatmul.narrow(m)) {
            // atbNarrow with the operands exchanged: strips of NR columns of C, 4 rows at a time, straight into C.
            atbNarrow(paths, name + " narrow rows", n, m);
            paths.add(name + " narrow rows" + (accumulate ? ": accumulate" : ": overwrite"));
        } else if (VectorMatmul.narrow(n)) {
            // abt: 4×4 dot products, then leftover rows and columns; vector then scalar along k.
            when(paths, m >= 4 && n >= 4, name + " narrow: 4x4 dot products");
            when(paths, m % 4 != 0, name + " narrow: leftover rows");
            when(paths, n % 4 != 0, name + " narrow: leftover columns");
            when(paths, k >= lanes, name + " narrow: vector dot products");
            when(paths, k % lanes != 0, name + " narrow: scalar tail of k");
        } else {
            paths.addAll(packed(name, m, n, k, accumulate));
        }
        return paths;
    }

    /** The paths of {@link VectorMatmul#atbNarrow} over {@code wide} vector lanes and {@code narrow} broadcast values. */
    private static void atbNarrow(Set<String> paths, String name, int wide, int narrow) {
        when(paths, wide >= VectorMatmul.NR, name + ": whole strips");
        when(paths, wide % VectorMatmul.NR != 0, name + ": a masked last strip");
        when(paths, narrow >= 4, name + ": 4 at a time");
        when(paths, narrow % 4 != 0, name + ": leftovers");
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
