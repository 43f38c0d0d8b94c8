package io.gradus.core.train;

import io.gradus.api.data.Example;
import io.gradus.api.model.TokenBatch;
import java.util.Arrays;
import java.util.List;

/**
 * Packs one long token stream (examples joined end to end) into batches of B rows of T positions:
 * each row is a window of T+1 consecutive tokens, inputs the first T and labels the last T, so no
 * position is padding. A label is kept where its token is a target of its example and
 * {@link TokenBatch#IGNORE} elsewhere (an SFT prompt, say). Consecutive windows follow each other
 * through the stream and wrap around at its end (the next epoch).
 */
public final class PackedTokens implements BatchSource {

    private final int[] tokens;
    private final boolean[] targets;
    private final int batchSize;
    private final int seqLen;
    private long position;

    /** A stream in which every token is a target. */
    public PackedTokens(int[] tokens, int batchSize, int seqLen) {
        this(tokens, all(tokens.length), batchSize, seqLen);
    }

    private PackedTokens(int[] tokens, boolean[] targets, int batchSize, int seqLen) {
        if (tokens.length < seqLen + 1) {
            throw new IllegalArgumentException("the data has " + tokens.length + " tokens, fewer than one sequence of "
                    + (seqLen + 1) + " (seqLen + 1)");
        }
        this.tokens = tokens;
        this.targets = targets;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
    }

    /** The examples, in order, joined into one stream. */
    public static PackedTokens of(List<Example> examples, int batchSize, int seqLen) {
        int total = examples.stream().mapToInt(e -> e.ids().length).sum();
        int[] tokens = new int[total];
        boolean[] targets = new boolean[total];
        int at = 0;
        for (Example e : examples) {
            System.arraycopy(e.ids(), 0, tokens, at, e.ids().length);
            System.arraycopy(e.targets(), 0, targets, at, e.targets().length);
            at += e.ids().length;
        }
        return new PackedTokens(tokens, targets, batchSize, seqLen);
    }

    private static boolean[] all(int n) {
        boolean[] flags = new boolean[n];
        Arrays.fill(flags, true);
        return flags;
    }

    /** Tokens in one pass over the data. */
    public int length() {
        return tokens.length;
    }

    @Override
    public TokenBatch next() {
        int[] inputs = new int[batchSize * seqLen];
        int[] labels = new int[batchSize * seqLen];
        for (int b = 0; b < batchSize; b++) {
            for (int t = 0; t < seqLen; t++) {
                inputs[b * seqLen + t] = tokens[(int) ((position + t) % tokens.length)];
                int next = (int) ((position + t + 1) % tokens.length);
                labels[b * seqLen + t] = targets[next] ? tokens[next] : TokenBatch.IGNORE;
            }
            position = (position + seqLen) % tokens.length;
        }
        return new TokenBatch(batchSize, seqLen, inputs, labels);
    }

    /** The windows of one pass over the stream, {@code batchSize} rows per batch (the last batch may have fewer). */
    @Override
    public Iterable<TokenBatch> pass() {
        int windows = Math.max(1, (tokens.length - 1) / seqLen);
        return () -> java.util.stream.IntStream.iterate(0, w -> w < windows, w -> w + batchSize).mapToObj(first -> {
            PackedTokens rows = new PackedTokens(tokens, targets, Math.min(batchSize, windows - first), seqLen);
            rows.position = (long) first * seqLen;
            return rows.next();
        }).iterator();
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
