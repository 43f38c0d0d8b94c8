package io.gradus.jobs;

import io.gradus.api.data.Example;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ScoreHead;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.ScalarHead;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import java.util.Arrays;
import java.util.List;

/**
 * Scores of sequences under a sequence classifier (a reward model), on no-grad passes: each sequence
 * is a row, right-padded with the model's pad id, and scored at its last real token as transformers
 * reads it.
 */
public final class SequenceScorer {

    /** Sequences per forward pass. */
    private static final int ROWS = 16;

    private final LlamaModel model;
    private final ScoreHead head;
    private final LlamaEngine engine;
    private final KernelBackend kernels;

    /** @throws IllegalArgumentException when the model has no score head */
    public SequenceScorer(LlamaModel model, KernelBackend kernels) {
        this.model = model;
        this.head = model.scoreHead().orElseThrow(() -> new IllegalArgumentException("the model is not a reward model: "
                + "it has no score head (a LlamaForSequenceClassification folder, or a SEQ_CLS adapter)"));
        this.engine = new LlamaEngine(model, kernels);
        this.kernels = kernels;
    }

    /** One score per sequence, in order. */
    public float[] scores(List<Example> sequences) {
        float[] scores = new float[sequences.size()];
        int pad = head.padTokenId() >= 0 ? head.padTokenId() : 0;
        for (int from = 0; from < sequences.size(); from += ROWS) {
            List<Example> chunk = sequences.subList(from, Math.min(sequences.size(), from + ROWS));
            int seqLen = chunk.stream().mapToInt(e -> e.ids().length).max().orElseThrow();
            if (seqLen > model.config().maxPositions()) {
                throw new IllegalArgumentException("a sequence of " + seqLen + " tokens is longer than the model's "
                        + model.config().maxPositions() + " positions");
            }
            int[] ids = new int[chunk.size() * seqLen];
            int[] lengths = new int[chunk.size()];
            Arrays.fill(ids, pad);
            for (int r = 0; r < chunk.size(); r++) {
                int[] sequence = chunk.get(r).ids();
                System.arraycopy(sequence, 0, ids, r * seqLen, sequence.length);
                lengths[r] = sequence.length;
            }
            int[] labels = new int[ids.length];
            Arrays.fill(labels, TokenBatch.IGNORE);
            TokenBatch batch = new TokenBatch(chunk.size(), seqLen, ids, labels, lengths, null);
            float[] hidden = engine.infer(batch, false).hidden();
            float[] chunkScores = new ScalarHead(head.weight(), batch.lastTokens(head.padTokenId())).forward(hidden, kernels);
            System.arraycopy(chunkScores, 0, scores, from, chunk.size());
        }
        return scores;
    }
}
