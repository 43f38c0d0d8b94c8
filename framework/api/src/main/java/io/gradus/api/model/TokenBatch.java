package io.gradus.api.model;

import java.util.Objects;

/**
 * A batch of token sequences, B rows of T positions, flattened row-major.
 *
 * <p>{@code labels[b*T + t]} is the token that position t of row b must predict (the next token,
 * already shifted), or {@link #IGNORE} where no loss is taken: padding, prompt tokens in SFT, the
 * last position. The same convention as Hugging Face's {@code -100}.
 *
 * @param batchSize B
 * @param seqLen T
 * @param inputIds B*T token ids fed to the model
 * @param labels B*T target ids or {@link #IGNORE}
 */
public record TokenBatch(int batchSize, int seqLen, int[] inputIds, int[] labels) {

    /** Label value for positions that take no loss. */
    public static final int IGNORE = -100;

    public TokenBatch {
        Objects.requireNonNull(inputIds, "inputIds");
        Objects.requireNonNull(labels, "labels");
        if (batchSize <= 0 || seqLen <= 0) {
            throw new IllegalArgumentException(
                    "batch size and sequence length must be positive, got " + batchSize + "x" + seqLen);
        }
        if (inputIds.length != batchSize * seqLen || labels.length != batchSize * seqLen) {
            throw new IllegalArgumentException("a " + batchSize + "x" + seqLen + " batch needs "
                    + batchSize * seqLen + " ids and labels, got " + inputIds.length + " and " + labels.length);
        }
    }

    /**
     * A causal language-modelling batch: every position predicts the next token of its row; the
     * last position of each row predicts nothing.
     */
    public static TokenBatch nextToken(int batchSize, int seqLen, int[] inputIds) {
        int[] labels = new int[inputIds.length];
        for (int b = 0; b < batchSize; b++) {
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                labels[i] = t + 1 < seqLen ? inputIds[i + 1] : IGNORE;
            }
        }
        return new TokenBatch(batchSize, seqLen, inputIds, labels);
    }

    /** Number of positions that take a loss. */
    public int countLabels() {
        int n = 0;
        for (int label : labels) {
            if (label != IGNORE) {
                n++;
            }
        }
        return n;
    }
}
