package io.gradus.plugin.ppo;

import io.gradus.api.technique.Live;
import io.gradus.api.technique.Setting;
import java.util.List;

/**
 * Configuration of the PPO objective, with the names of TRL's {@code PPOConfig} in camel case and its
 * defaults. Every field may be left out of a job file; {@code rewardModel} is checked when the job
 * starts (so that the console's form still gets every default).
 *
 * @param rewardModel the reward model's folder, relative to the job file (TRL's {@code reward_model_path}):
 *     a {@code LlamaForSequenceClassification} folder or a {@code SEQ_CLS} adapter, with the policy's
 *     vocabulary (it reads the policy's token ids as they are)
 * @param responseLength the most tokens generated per prompt (TRL's {@code response_length}, 53)
 * @param temperature the sampling temperature T (0.7); log-probabilities are those of logits / T, as the
 *     responses were drawn from them
 * @param missingEosPenalty subtracted from the score of a response without EOS (none by default)
 * @param klCoef β, the weight of the per-token KL penalty (0.05); live: steering sets it from the next
 *     rollout on
 * @param klEstimator {@code k1} (log π − log π_ref, the default) or {@code k3} ((r − 1) − log r, r = π_ref/π)
 * @param klTarget with it, β adapts after every rollout towards this KL per sequence (Ziegler et al.
 *     2019's controller); without it (default) β stays fixed
 * @param klHorizon the adaptive controller's horizon in prompts (10000)
 * @param gamma γ, the discount of GAE (1.0)
 * @param lam λ of GAE (0.95)
 * @param numPpoEpochs passes over each rollout (4)
 * @param numMiniBatches optimizer steps per pass (1); a rollout holds numMiniBatches × gradAccumulation ×
 *     batchSize prompts
 * @param cliprange ε of the clipped surrogate (0.2)
 * @param cliprangeValue ε_v of the clipped value loss (0.2)
 * @param vfCoef the weight of the value loss (0.1)
 * @param reference {@code base} (default): the policy with its adapters switched off, no copy (the
 *     starting policy when the adapter starts at zero, as LoRA's does); {@code initial}: a frozen copy of
 *     the trainable weights as the job starts (needed under full fine-tuning)
 * @param samples rows of the latest rollout written to samples.jsonl at every checkpoint (4)
 */
public record PpoConfig(
        @Setting(description = "The reward model's folder (a LlamaForSequenceClassification, or a SEQ_CLS adapter).")
                String rewardModel,
        @Setting(description = "The most tokens generated per prompt.", min = 1) Integer responseLength,
        @Setting(description = "Sampling temperature.", min = 0, exclusiveMin = true) Double temperature,
        @Setting(description = "Subtracted from the score of a response without EOS.", min = 0, exclusiveMin = true)
                Double missingEosPenalty,
        @Live @Setting(description = "Weight β of the per-token KL penalty against the reference.", min = 0)
                Double klCoef,
        @Setting(description = "KL estimator per token.", choices = {"k1", "k3"}) String klEstimator,
        @Setting(description = "Adapt β towards this KL per sequence (none: β stays fixed).", min = 0, exclusiveMin = true)
                Double klTarget,
        @Setting(description = "The adaptive controller's horizon, in prompts.", min = 1) Integer klHorizon,
        @Setting(description = "Discount γ of GAE.", min = 0, max = 1) Double gamma,
        @Setting(description = "λ of GAE.", min = 0, max = 1) Double lam,
        @Setting(description = "Passes over each rollout.", min = 1) Integer numPpoEpochs,
        @Setting(description = "Optimizer steps per pass over a rollout.", min = 1) Integer numMiniBatches,
        @Setting(description = "ε of the clipped surrogate.", min = 0) Double cliprange,
        @Setting(description = "ε of the clipped value loss.", min = 0) Double cliprangeValue,
        @Setting(description = "Weight of the value loss.", min = 0) Double vfCoef,
        @Setting(description = "The reference: the base with adapters off, or a copy of the starting weights.",
                choices = {"base", "initial"}) String reference,
        @Setting(description = "Rollout rows written to samples.jsonl at every checkpoint.", min = 0) Integer samples) {

    /** The KL estimators. */
    public static final List<String> ESTIMATORS = List.of("k1", "k3");
    /** The references. */
    public static final List<String> REFERENCES = List.of("base", "initial");

    public PpoConfig {
        responseLength = atLeast("responseLength", responseLength, 53, 1);
        temperature = positive("temperature", temperature, 0.7);
        if (missingEosPenalty != null) {
            positive("missingEosPenalty", missingEosPenalty, 0);
        }
        klCoef = notNegative("klCoef", klCoef, 0.05);
        klEstimator = oneOf("klEstimator", klEstimator, ESTIMATORS);
        if (klTarget != null) {
            positive("klTarget", klTarget, 0);
        }
        klHorizon = atLeast("klHorizon", klHorizon, 10000, 1);
        gamma = unit("gamma", gamma, 1.0);
        lam = unit("lam", lam, 0.95);
        numPpoEpochs = atLeast("numPpoEpochs", numPpoEpochs, 4, 1);
        numMiniBatches = atLeast("numMiniBatches", numMiniBatches, 1, 1);
        cliprange = notNegative("cliprange", cliprange, 0.2);
        cliprangeValue = notNegative("cliprangeValue", cliprangeValue, 0.2);
        vfCoef = notNegative("vfCoef", vfCoef, 0.1);
        reference = oneOf("reference", reference, REFERENCES);
        samples = atLeast("samples", samples, 4, 0);
    }

    /** Every default, with the reward model at {@code rewardModel}. */
    public static PpoConfig of(String rewardModel) {
        return new PpoConfig(rewardModel, null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null);
    }

    private static int atLeast(String field, Integer value, int fallback, int least) {
        int v = value == null ? fallback : value;
        if (v < least) {
            throw new IllegalArgumentException(field + " must be at least " + least + ", was " + v);
        }
        return v;
    }

    private static double positive(String field, Double value, double fallback) {
        double v = value == null ? fallback : value;
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(field + " must be a number > 0, was " + v);
        }
        return v;
    }

    private static double notNegative(String field, Double value, double fallback) {
        double v = value == null ? fallback : value;
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(field + " must be a number >= 0, was " + v);
        }
        return v;
    }

    private static double unit(String field, Double value, double fallback) {
        double v = value == null ? fallback : value;
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(field + " must be in [0, 1], was " + v);
        }
        return v;
    }

    private static String oneOf(String field, String value, List<String> choices) {
        String v = value == null ? choices.getFirst() : value;
        if (!choices.contains(v)) {
            throw new IllegalArgumentException(field + " must be one of " + String.join(", ", choices) + ", was '" + v
                    + "'");
        }
        return v;
    }
}
