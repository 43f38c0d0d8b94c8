package io.gradus.api.model;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * A batch of token sequences, B rows of T positions, flattened row-major.
 *
 * <p>{@code labels[b*T + t]} is the token that position t of row b must predict (the next token,
 * already shifted), or {@link #IGNORE} where no loss is taken: padding, prompt tokens in SFT, the
 * last position. The same convention as Hugging Face's {@code -100}.
 *
 * <p>Row b holds {@code lengths[b]} real tokens from position 0 on; the positions after them are
 * padding (right padding only, so every row's positions count from 0 and causal attention keeps the
 * padding away from the real tokens). Rows may come in {@link Groups}: sequences that belong
 * together (a preference pair) in adjacent rows.
 *
 * @param batchSize B, rows
 * @param seqLen T
 * @param inputIds B*T token ids fed to the model
 * @param labels B*T target ids or {@link #IGNORE}
 * @param lengths B real-token counts, each in [1, T]
 * @param groups how the rows form groups, or {@code null} when every row stands alone (text)
 */
public record TokenBatch(int batchSize, int seqLen, int[] inputIds, int[] labels, int[] lengths, Groups groups) {

    /** Label value for positions that take no loss. */
    public static final int IGNORE = -100;

    public TokenBatch {
        Objects.requireNonNull(inputIds, "inputIds");
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(lengths, "lengths");
        if (batchSize <= 0 || seqLen <= 0) {
            throw new IllegalArgumentException(
                    "batch size and sequence length must be positive, got " + batchSize + "x" + seqLen);
        }
        if (inputIds.length != batchSize * seqLen || labels.length != batchSize * seqLen) {
            throw new IllegalArgumentException("a " + batchSize + "x" + seqLen + " batch needs "
                    + batchSize * seqLen + " ids and labels, got " + inputIds.length + " and " + labels.length);
        }
        if (lengths.length != batchSize) {
            throw new IllegalArgumentException("a batch of " + batchSize + " rows needs " + batchSize
                    + " lengths, got " + lengths.length);
        }
        for (int b = 0; b < batchSize; b++) {
            if (lengths[b] < 1 || lengths[b] > seqLen) {
                throw new IllegalArgumentException("row " + b + " has length " + lengths[b] + "; lengths must be in [1, "
                        + seqLen + "]");
            }
        }
        if (groups != null && batchSize % groups.size() != 0) {
            throw new IllegalArgumentException(batchSize + " rows do not form groups of " + groups.size());
        }
        if (groups != null && groups.indices().length != batchSize / groups.size()) {
            throw new IllegalArgumentException(batchSize / groups.size() + " groups need as many indices, got "
                    + groups.indices().length);
        }
    }

    /** A batch of full rows that stand alone (the 1.0 form of this record). */
    public TokenBatch(int batchSize, int seqLen, int[] inputIds, int[] labels) {
        this(batchSize, seqLen, inputIds, labels, full(batchSize, seqLen), null);
    }

    private static int[] full(int batchSize, int seqLen) {
        int[] lengths = new int[Math.max(batchSize, 0)];
        Arrays.fill(lengths, seqLen);
        return lengths;
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

    /** Number of groups: B / group size, or B when rows stand alone. */
    public int groupCount() {
        return groups == null ? batchSize : batchSize / groups.size();
    }

    /**
     * For each row, the flat index b·T + t of the position a sequence classifier reads its score
     * at, as transformers' {@code LlamaForSequenceClassification} picks it: the rightmost position
     * of the row's real tokens whose id is not {@code padTokenId}, or the row's last real token
     * when the model has no pad id ({@code padTokenId < 0}): what transformers reads from that
     * sequence alone (position −1; without a pad id it takes one sequence per batch). A row of
     * nothing but pad ids gives position 0 (transformers' argmax over an all-zero mask). With
     * pad = EOS a trailing EOS is skipped, exactly as in transformers.
     */
    public int[] lastTokens(int padTokenId) {
        int[] rows = new int[batchSize];
        for (int b = 0; b < batchSize; b++) {
            int t = lengths[b] - 1;
            if (padTokenId >= 0) {
                while (t > 0 && inputIds[b * seqLen + t] == padTokenId) {
                    t--;
                }
            }
            rows[b] = b * seqLen + t;
        }
        return rows;
    }

    /**
     * How the rows of a batch form groups: rows [g·size, (g+1)·size) are group g, in the order
     * the objective encoded them (a preference pair: chosen, then rejected).
     *
     * @param size rows per group (2 for pairs, 1 for prompts or single texts)
     * @param indices per group, its index among the records of its data file, stable across epochs
     *     and resumes (DPO keys precomputed reference log-probs by it)
     * @param values named numbers per group, from its record ({@code margin}, {@code ref_chosen_logps}):
     *     one array of {@code groupCount()} values per name, NaN where a group's record has none
     */
    public record Groups(int size, int[] indices, Map<String, double[]> values) {

        public Groups {
            if (size <= 0) {
                throw new IllegalArgumentException("a group needs at least one row, got " + size);
            }
            Objects.requireNonNull(indices, "indices");
            values = Map.copyOf(values);
            for (var entry : values.entrySet()) {
                if (entry.getValue().length != indices.length) {
                    throw new IllegalArgumentException("value '" + entry.getKey() + "' has " + entry.getValue().length
                            + " entries for " + indices.length + " groups");
                }
            }
        }

        /** The named value per group, or null when no group of the batch has it. */
        public double[] value(String name) {
            return values.get(name);
        }
    }
}
