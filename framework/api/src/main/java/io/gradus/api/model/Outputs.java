package io.gradus.api.model;

/**
 * What a forward pass produced, for B·T = N rows. The arrays belong to the runner: they stay valid
 * until the next pass of the same kind (training or no-grad) and must not be written to.
 *
 * @param logits [N, V] next-token logits, or {@code null} when the pass was asked for hidden states only
 * @param hidden [N, C] the final hidden states: the output of the last decoder layer after the final
 *     norm, what transformers' {@code score} head and a value head read
 */
public record Outputs(float[] logits, float[] hidden) {}
