package io.gradus.api.generation;

import java.util.Objects;

/**
 * What a generation produced.
 *
 * @param model the model that ran, for a person (e.g. {@code job 3 (my-run), checkpoint at step 40})
 * @param text the whole continuation, decoded, special tokens left out
 * @param promptTokens the prompt's length in tokens
 * @param generatedTokens new tokens
 * @param stop why it stopped: {@code eos} (the model's end token), {@code length} (max new tokens
 *     or the model's context), or {@code stopped} (the sink asked)
 * @param tokensPerSecond generation speed, prompt excluded
 */
public record GenerationResult(
        String model, String text, int promptTokens, int generatedTokens, String stop, double tokensPerSecond) {

    public GenerationResult {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(stop, "stop");
    }
}
