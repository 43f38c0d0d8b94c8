package io.gradus.api.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * The output head of a sequence classifier with one label (a reward model, transformers'
 * {@code LlamaForSequenceClassification} with {@code num_labels} 1): score = h·wᵀ, where h is the
 * final hidden state at the sequence's last real token (see {@link TokenBatch#lastTokens}).
 *
 * @param weight {@code score.weight}, shape [1, C]
 * @param padTokenId the model's {@code pad_token_id}, or -1 when it has none
 */
public record ScoreHead(Parameter weight, int padTokenId) {

    /** The tensor name transformers gives the head. */
    public static final String NAME = "score.weight";

    public ScoreHead {
        Objects.requireNonNull(weight, "weight");
        if (weight.shape().length != 2 || weight.shape()[0] != 1) {
            throw new IllegalArgumentException(weight.name() + " must have shape [1, hidden] (one label), has "
                    + Arrays.toString(weight.shape()));
        }
    }
}
