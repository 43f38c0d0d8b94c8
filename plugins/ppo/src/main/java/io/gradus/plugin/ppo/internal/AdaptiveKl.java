package io.gradus.plugin.ppo.internal;

/**
 * The adaptive KL controller of Ziegler et al. 2019 (§2.2, "Fine-Tuning Language Models from Human
 * Preferences"), as TRL's {@code AdaptiveKLController} (TRL ≤ 0.11) applies it after each batch:
 * <pre>
 *   e = clip(KL/KL_target − 1, −0.2, 0.2)
 *   β ← β·(1 + e·n/horizon)
 * </pre>
 * with KL the batch's mean KL per sequence and n its number of episodes (prompts): β grows while
 * the policy drifts further than the target from the reference, and shrinks while it stays closer.
 */
final class AdaptiveKl {

    private AdaptiveKl() {}

    /** β after a rollout of {@code prompts} prompts whose mean KL per sequence was {@code kl}. */
    static double next(double beta, double kl, double target, int horizon, int prompts) {
        double error = Math.min(Math.max(kl / target - 1, -0.2), 0.2);
        return beta * (1 + error * prompts / horizon);
    }
}
