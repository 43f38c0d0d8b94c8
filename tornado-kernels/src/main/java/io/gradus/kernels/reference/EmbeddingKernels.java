package io.gradus.kernels.reference;

/** Token embedding lookup and its gradient. */
public final class EmbeddingKernels {

    private EmbeddingKernels() {}

    /** Rows [from, to): out[r] = table[ids[r]], rows of length dim. */
    public static void forward(float[] out, float[] table, int[] ids, int dim, int from, int to) {
        for (int r = from; r < to; r++) {
            System.arraycopy(table, ids[r] * dim, out, r * dim, dim);
        }
    }

    /**
     * Columns [from, to) of dTable[ids[r]] += dOut[r] over all n rows. Split by column, not by row,
     * so that repeated ids never race.
     */
    public static void backward(float[] dTable, float[] dOut, int[] ids, int n, int dim, int from, int to) {
        for (int r = 0; r < n; r++) {
            int target = ids[r] * dim;
            int source = r * dim;
            for (int i = from; i < to; i++) {
                dTable[target + i] += dOut[source + i];
            }
        }
    }
}
