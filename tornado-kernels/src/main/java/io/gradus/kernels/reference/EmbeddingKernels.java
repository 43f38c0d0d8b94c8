package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/** Token embedding lookup and its gradient. */
public final class EmbeddingKernels {

    private EmbeddingKernels() {}

    /** Rows [from, to): out[r] = table[ids[r]], rows of length dim. */
    public static void forward(float[] out, float[] table, int[] ids, int dim, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int r = from + at;
            int source = ids[r] * dim;
            int target = r * dim;
            for (int i = 0; i < dim; i++) {
                out[target + i] = table[source + i];
            }
        }
    }

    /**
     * Columns [from, to) of dTable[ids[r]] += dOut[r] over all n rows. Split by column, not by row,
     * so that repeated ids never race; within a column the rows are added in order.
     */
    public static void backward(float[] dTable, float[] dOut, int[] ids, int n, int dim, int from, int to) {
        for (@Parallel int at = 0; at < to - from; at++) {
            int i = from + at;
            for (int r = 0; r < n; r++) {
                dTable[ids[r] * dim + i] += dOut[r * dim + i];
            }
        }
    }
}
