package io.gradus.core.train;

import io.gradus.api.model.TokenBatch;

/**
 * Packs one long token stream (documents already joined with end-of-sequence tokens) into batches
 * of B rows of T positions: each row is a window of T+1 consecutive tokens, inputs the first T and
 * labels the last T, so every position takes a loss and no token is padding. Consecutive windows
 * follow each other through the stream and wrap around at its end (the next epoch).
 */
public final class PackedTokens implements BatchSource {

    private final int[] tokens;
    private final int batchSize;
    private final int seqLen;
    private long position;

    public PackedTokens(int[] tokens, int batchSize, int seqLen) {
        if (tokens.length < seqLen + 1) {
            throw new IllegalArgumentException("the data has " + tokens.length + " tokens, fewer than one sequence of "
                    + (seqLen + 1) + " (seqLen + 1)");
        }
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
    }

    @Override
    public TokenBatch next() {
        int[] inputs = new int[batchSize * seqLen];
        int[] labels = new int[batchSize * seqLen];
        for (int b = 0; b < batchSize; b++) {
            for (int t = 0; t < seqLen; t++) {
                inputs[b * seqLen + t] = tokens[(int) ((position + t) % tokens.length)];
                labels[b * seqLen + t] = tokens[(int) ((position + t + 1) % tokens.length)];
            }
            position = (position + seqLen) % tokens.length;
        }
        return new TokenBatch(batchSize, seqLen, inputs, labels);
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public void seek(long position) {
        if (position < 0 || position >= tokens.length) {
            throw new IllegalArgumentException("position " + position + " is outside a stream of " + tokens.length + " tokens");
        }
        this.position = position;
    }
}
