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
        int[] inputs = new int[batchSize * seqLen];
        int[] labels = new int[batchSize * seqLen];
        for (int b = 0; b < batchSize; b++) {
            Example e = examples.get((int) position);
            position = (position + 1) % examples.size();
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                inputs[i] = t < e.ids().length ? e.ids()[t] : padId;
                labels[i] = t + 1 < e.ids().length && e.targets()[t + 1] ? e.ids()[t + 1] : TokenBatch.IGNORE;
            }
        }
        return new TokenBatch(batchSize, seqLen, inputs, labels);
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
