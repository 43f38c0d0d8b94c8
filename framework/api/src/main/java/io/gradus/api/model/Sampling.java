package io.gradus.api.model;

/**
 * How generation picks each new token: {@link ModelRunner#generate} inside a training step, and every
 * other generation Gradus does (the command line, the generation service).
 *
 * @param temperature 0 for greedy decoding (argmax); otherwise logits are divided by it
 * @param topK keep only the k most likely tokens (0 = all)
 * @param topP keep the smallest set of most likely tokens whose probability reaches p (1 = all)
 * @param maxNewTokens stop after this many new tokens
 * @param seed the sampler's seed: the same seed, weights and prompt give the same tokens, so an
 *     objective that derives it from the job's seed has no random state to checkpoint
 */
public record Sampling(double temperature, int topK, double topP, int maxNewTokens, long seed) {

    public Sampling {
        if (!(temperature >= 0) || topK < 0 || !(topP > 0 && topP <= 1) || maxNewTokens < 1) {
            throw new IllegalArgumentException("sampling needs temperature >= 0, topK >= 0, 0 < topP <= 1 and "
                    + "maxNewTokens >= 1; got " + temperature + ", " + topK + ", " + topP + ", " + maxNewTokens);
        }
    }

    /** Greedy decoding (the most likely token every time) of up to {@code maxNewTokens} tokens. */
    public static Sampling greedy(int maxNewTokens) {
        return new Sampling(0, 0, 1, maxNewTokens, 0);
    }
}
