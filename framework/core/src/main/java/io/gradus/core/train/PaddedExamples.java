package io.gradus.core.train;

import io.gradus.api.data.Example;
import io.gradus.api.model.TokenBatch;
import java.util.List;

/**
 * One example per row, without packing: the first T+1 tokens of the example give T inputs and T
 * labels (non-targets ignored), and a shorter example is padded at the end with {@code padId}
 * inputs whose labels are ignored. Causal attention means padding at the end never affects the
 * real tokens. Rows take the examples in order and wrap around at the end (the next epoch).
 */
public final class PaddedExamples implements BatchSource {

    private final List<Example> examples;
    private final int batchSize;
    private final int seqLen;
    private final int padId;
    private long position;

    public PaddedExamples(List<Example> examples, int batchSize, int seqLen, int padId) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no examples");
        }
        this.examples = List.copyOf(examples);
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.padId = padId;
    }

    @Override
    public TokenBatch next() {
        TokenBatch batch = rows((int) position, batchSize);
        position = (position + batchSize) % examples.size();
        return batch;
    }

    /** Each example once, {@code batchSize} rows per batch (the last batch may have fewer). */
    @Override
    public Iterable<TokenBatch> pass() {
        return () -> java.util.stream.IntStream.iterate(0, i -> i < examples.size(), i -> i + batchSize)
                .mapToObj(first -> rows(first, Math.min(batchSize, examples.size() - first))).iterator();
    }

    /** {@code count} rows of the examples from {@code first} on, wrapping around at the end. */
    private TokenBatch rows(int first, int count) {
        int[] inputs = new int[count * seqLen];
        int[] labels = new int[count * seqLen];
        int[] lengths = new int[count];
        for (int b = 0; b < count; b++) {
            Example e = examples.get((first + b) % examples.size());
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
        if (position < 0 || position >= examples.size()) {
            throw new IllegalArgumentException("position " + position + " is outside " + examples.size() + " examples");
        }
        this.position = position;
    }
}
