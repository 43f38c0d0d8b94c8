package io.gradus.api.generation;

import io.gradus.api.technique.Setting;

/**
 * How tokens are chosen. Any field left out takes the default shown.
 *
 * @param maxNewTokens stop after this many new tokens (default 64)
 * @param temperature 0 for greedy decoding; otherwise the logits are divided by it (default 0)
 * @param topK sample among the k most likely tokens, 0 for all (default 0)
 * @param topP sample among the smallest set of most likely tokens whose probability reaches p, 1 for
 *     all (default 1)
 * @param seed seed of the sampler: the same seed gives the same text (default 42)
 */
public record GenerationSettings(
        @Setting(description = "Stop after this many new tokens.", min = 1, max = 4096) Integer maxNewTokens,
        @Setting(description = "0 picks the most likely token every time; higher values sample more freely.",
                min = 0, max = 5) Double temperature,
        @Setting(description = "Sample among the k most likely tokens; 0 keeps them all.", min = 0) Integer topK,
        @Setting(description = "Sample among the most likely tokens whose probabilities add up to p; 1 keeps them all.",
                min = 0, exclusiveMin = true, max = 1) Double topP,
        @Setting(description = "Seed of the sampler: the same seed gives the same text.") Long seed) {

    public GenerationSettings {
        maxNewTokens = maxNewTokens == null ? 64 : maxNewTokens;
        temperature = temperature == null ? 0.0 : temperature;
        topK = topK == null ? 0 : topK;
        topP = topP == null ? 1.0 : topP;
        seed = seed == null ? 42L : seed;
        if (maxNewTokens < 1 || maxNewTokens > 4096) {
            throw new IllegalArgumentException("maxNewTokens must be between 1 and 4096, was " + maxNewTokens);
        }
        if (!(temperature >= 0 && temperature <= 5)) {
            throw new IllegalArgumentException("temperature must be between 0 and 5, was " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0, was " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], was " + topP);
        }
    }

    /** Every default: greedy decoding of up to 64 tokens. */
    public static GenerationSettings defaults() {
        return new GenerationSettings(null, null, null, null, null);
    }
}
