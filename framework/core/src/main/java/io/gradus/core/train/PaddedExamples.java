package io.gradus.core.train;

import io.gradus.api.data.Example;
import io.gradus.api.model.TokenBatch;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * One example per row, without packing: the first T+1 tokens of the example give T inputs and T
 * labels (non-targets ignored), and a shorter example is padded at the end with {@code padId}
 * inputs whose labels are ignored. Causal attention means padding at the end never affects the
 * real tokens. Rows take the examples epoch after epoch: in the file's order, or with a seed (a
 * training job's data) in an order of its own each epoch ({@link EpochOrder}, as the Trainer's
 * {@code RandomSampler} shuffles). The position counts the examples taken since the start, so it
 * names the epoch and the place in it and resumes exactly.
 */
public final class PaddedExamples implements BatchSource {

    private final List<Example> examples;
    private final int batchSize;
    private final int seqLen;
    private final int padId;
    /** The order the examples are taken in, epoch after epoch. */
    private final EpochOrder order;
    private long position;

    /** Examples taken in the file's order every epoch. */
    public PaddedExamples(List<Example> examples, int batchSize, int seqLen, int padId) {
        this(examples, batchSize, seqLen, padId, false, 0);
    }

    /** Examples taken in an order of their own each epoch, drawn from {@code seed}. */
    public PaddedExamples(List<Example> examples, int batchSize, int seqLen, int padId, long seed) {
        this(examples, batchSize, seqLen, padId, true, seed);
    }

    private PaddedExamples(List<Example> examples, int batchSize, int seqLen, int padId, boolean shuffled, long seed) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no examples");
        }
        this.examples = List.copyOf(examples);
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.padId = padId;
        this.order = new EpochOrder(examples.size(), shuffled, seed);
    }

    @Override
    public TokenBatch next() {
        long first = position;
        position += batchSize;
        return rows(b -> order.item(first + b), batchSize);
    }

    /** Each example once, {@code batchSize} rows per batch (the last batch may have fewer). */
    @Override
    public Iterable<TokenBatch> pass() {
        return () -> java.util.stream.IntStream.iterate(0, i -> i < examples.size(), i -> i + batchSize)
                .mapToObj(first -> rows(b -> first + b, Math.min(batchSize, examples.size() - first))).iterator();
    }

    /** {@code count} rows, row b holding the example {@code example.applyAsInt(b)}. */
    private TokenBatch rows(IntUnaryOperator example, int count) {
        int[] inputs = new int[count * seqLen];
        int[] labels = new int[count * seqLen];
        int[] lengths = new int[count];
        for (int b = 0; b < count; b++) {
            Example e = examples.get(example.applyAsInt(b));
            lengths[b] = Math.max(1, Math.min(seqLen, e.ids().length));
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                inputs[i] = t < e.ids().length ? e.ids()[t] : padId;
                labels[i] = t + 1 < e.ids().length && e.targets()[t + 1] ? e.ids()[t + 1] : TokenBatch.IGNORE;
            }
        }
        return new TokenBatch(count, seqLen, inputs, labels, lengths, null);
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public void seek(long position) {
        if (position < 0) {
            throw new IllegalArgumentException("position " + position + " is negative: it counts the examples taken");
        }
        this.position = position;
    }
}
