package io.gradus.plugin.reward;

import io.gradus.api.technique.Live;
import io.gradus.api.technique.Setting;

/**
 * Configuration of the reward model objective, with TRL's {@code RewardConfig} names.
 *
 * @param centerRewardsCoefficient λ of the centring term λ·mean((r_c + r_r)²) (Eisenstein et al. 2023,
 *     TRL's {@code center_rewards_coefficient}), which keeps the scores near zero; none by default.
 *     Live: it may change while a job runs
 */
public record RewardConfig(
        @Setting(description = "Weight of the centring term: adds this times mean((r_chosen + r_rejected)²) to the loss, "
                + "keeping scores near zero; none by default.", min = 0) @Live Double centerRewardsCoefficient) {

    public RewardConfig {
        if (centerRewardsCoefficient != null && !(centerRewardsCoefficient >= 0)) {
            throw new IllegalArgumentException("centerRewardsCoefficient must be a number >= 0, was "
                    + centerRewardsCoefficient);
        }
    }

    /** No centring term. */
    public static RewardConfig defaults() {
        return new RewardConfig(null);
    }

    /** λ, 0 when none is set. */
    public double centering() {
        return centerRewardsCoefficient == null ? 0 : centerRewardsCoefficient;
    }
}
