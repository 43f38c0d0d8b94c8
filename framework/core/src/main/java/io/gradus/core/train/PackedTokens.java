package io.gradus.core.train;

import io.gradus.api.data.Example;
import io.gradus.api.model.TokenBatch;
import java.util.Arrays;
import java.util.List;

/**
 * Packs one long token stream (examples joined end to end) into batches of B rows of T positions:
 * each row is a window of T+1 consecutive tokens, inputs the first T and labels the last T, so no
 * position is padding. A label is kept where its token is a target of its example and
 * {@link TokenBatch#IGNORE} elsewhere (an SFT prompt, say).
 *
 * <p>Two ways to take the windows. In the stream's order ({@link #of(List, int, int)}, the
 * constructor), consecutive windows follow each other through the stream and wrap around at its end
 * (the next epoch); the position is the offset of the next window's first token. Shuffled
 * ({@link #of(List, int, int, long)}, a training job's data), the stream is cut once into its
 * ⌊(N−1)/T⌋ whole windows (window w starts at token w·T; the last N−1 mod T tokens are left out, as
 * Hugging Face's {@code group_texts} drops the remainder) and each epoch takes them in an order of its
 * own drawn from the seed ({@link EpochOrder}, as the Trainer's {@code RandomSampler} shuffles the
 * packed blocks); the position counts the windows taken since the start, so it resumes exactly.
 */
public final class PackedTokens implements BatchSource {

    private final int[] tokens;
    private final boolean[] targets;
    private final int batchSize;
    private final int seqLen;
    /** The order of the whole windows, epoch after epoch; null when the windows follow the stream. */
    private final EpochOrder windows;
    private long position;

    /** A stream in which every token is a target. */
    public PackedTokens(int[] tokens, int batchSize, int seqLen) {
        this(tokens, all(tokens.length), batchSize, seqLen, false, 0);
    }

    private PackedTokens(int[] tokens, boolean[] targets, int batchSize, int seqLen, boolean shuffled, long seed) {
        if (tokens.length < seqLen + 1) {
            throw new IllegalArgumentException("the data has " + tokens.length + " tokens, fewer than one sequence of "
                    + (seqLen + 1) + " (seqLen + 1)");
        }
        this.tokens = tokens;
        this.targets = targets;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.windows = shuffled ? new EpochOrder((tokens.length - 1) / seqLen, true, seed) : null;
    }

    /** The examples, in order, joined into one stream; windows taken in the stream's order. */
    public static PackedTokens of(List<Example> examples, int batchSize, int seqLen) {
        return joined(examples, batchSize, seqLen, false, 0);
    }

    /**
     * The examples, in order, joined into one stream and cut into whole windows, which each epoch
     * takes in an order of its own drawn from {@code seed} (a training job's data).
     */
    public static PackedTokens of(List<Example> examples, int batchSize, int seqLen, long seed) {
        return joined(examples, batchSize, seqLen, true, seed);
    }

    private static PackedTokens joined(List<Example> examples, int batchSize, int seqLen, boolean shuffled, long seed) {
        int total = examples.stream().mapToInt(e -> e.ids().length).sum();
        int[] tokens = new int[total];
        boolean[] targets = new boolean[total];
        int at = 0;
        for (Example e : examples) {
            System.arraycopy(e.ids(), 0, tokens, at, e.ids().length);
            System.arraycopy(e.targets(), 0, targets, at, e.targets().length);
            at += e.ids().length;
        }
        return new PackedTokens(tokens, targets, batchSize, seqLen, shuffled, seed);
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
            long start = windows == null ? position : (long) windows.item(position) * seqLen;
            for (int t = 0; t < seqLen; t++) {
                inputs[b * seqLen + t] = tokens[(int) ((start + t) % tokens.length)];
                int next = (int) ((start + t + 1) % tokens.length);
                labels[b * seqLen + t] = targets[next] ? tokens[next] : TokenBatch.IGNORE;
            }
            position = windows == null ? (position + seqLen) % tokens.length : position + 1;
        }
        return new TokenBatch(batchSize, seqLen, inputs, labels);
    }

    /**
     * The whole windows of one pass over the stream, in the stream's order, {@code batchSize} rows per
     * batch (the last batch may have fewer).
     */
    @Override
    public Iterable<TokenBatch> pass() {
        int windows = Math.max(1, (tokens.length - 1) / seqLen);
        return () -> java.util.stream.IntStream.iterate(0, w -> w < windows, w -> w + batchSize).mapToObj(first -> {
            PackedTokens rows = new PackedTokens(tokens, targets, Math.min(batchSize, windows - first), seqLen, false, 0);
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
        if (position < 0) {
            throw new IllegalArgumentException("position " + position + " is negative");
        }
        if (windows == null && position >= tokens.length) {
            throw new IllegalArgumentException("position " + position + " is outside a stream of " + tokens.length + " tokens");
        }
        this.position = position;
    }
}
