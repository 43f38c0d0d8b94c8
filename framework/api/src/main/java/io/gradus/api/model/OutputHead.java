package io.gradus.api.model;

/** What a model's output head computes. */
public enum OutputHead {
    /** Next-token logits over the vocabulary ({@code lm_head}): a causal language model. */
    LANGUAGE_MODELLING,
    /**
     * One score per sequence, read at its last real token ({@code score}, transformers'
     * {@code LlamaForSequenceClassification} with {@code num_labels} 1): a reward model.
     */
    SEQUENCE_SCORE
}
