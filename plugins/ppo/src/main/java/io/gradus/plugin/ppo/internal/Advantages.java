package io.gradus.plugin.ppo.internal;

import java.util.List;

/**
 * PPO's arithmetic of one rollout, per response token t of a response of L tokens, in double
 * precision: the KL estimate against the reference, the shaped rewards, generalised advantage
 * estimation and whitening. Each formula names its source; the order of the steps is TRL's
 * ({@code trl/experimental/ppo/ppo_trainer.py}, "4. compute rewards" to "6. compute advantages and
 * returns").
 */
final class Advantages {

    /** TRL's {@code masked_whiten}: the variance is floored by this before the square root. */
    static final double WHITEN_EPSILON = 1e-8;

    private Advantages() {}

    /**
     * The per-token KL estimate of Schulman's "Approximating KL divergence", as TRL writes it with
     * logr = log π_ref − log π:
     * <pre>
     *   k1 = −logr                  (= log π − log π_ref; unbiased, may be negative)
     *   k3 = (e^logr − 1) − logr    (unbiased, never negative, lower variance)
     * </pre>
     */
    static double kl(String estimator, double logProb, double refLogProb) {
        double logr = refLogProb - logProb;
        return switch (estimator) {
            case "k1" -> -logr;
            case "k3" -> Math.expm1(logr) - logr;
            default -> throw new IllegalArgumentException("unknown KL estimator " + estimator);
        };
    }

    /**
     * The rewards of one response (Ziegler et al. 2019 eq. 2; TRL's {@code non_score_reward} plus the
     * score): r_t = −β·kl_t for every token, and the reward model's score added on the last one,
     * t = L − 1. (TRL adds the score one position after EOS when the response is shorter than
     * {@code response_length}; see docs/DESIGN.md.)
     */
    static double[] rewards(double[] kl, double beta, double score) {
        double[] rewards = new double[kl.length];
        for (int t = 0; t < kl.length; t++) {
            rewards[t] = -beta * kl[t];
        }
        rewards[kl.length - 1] += score;
        return rewards;
    }

    /**
     * Generalised advantage estimation (Schulman et al. 2016, eq. 11–16; TRL's loop over reversed t):
     * <pre>
     *   δ_t = r_t + γ·V_{t+1} − V_t        with V_L = 0 (nothing follows the last token)
     *   A_t = δ_t + γ·λ·A_{t+1}            with A_L = 0
     * </pre>
     * The returns the value loss regresses on are R_t = A_t + V_t ({@link #returns}).
     */
    static double[] gae(double[] rewards, double[] values, double gamma, double lam) {
        int length = rewards.length;
        double[] advantages = new double[length];
        double next = 0;
        for (int t = length - 1; t >= 0; t--) {
            double nextValue = t + 1 < length ? values[t + 1] : 0;
            double delta = rewards[t] + gamma * nextValue - values[t];
            next = delta + gamma * lam * next;
            advantages[t] = next;
        }
        return advantages;
    }

    /** R_t = A_t + V_t, before the advantages are whitened (TRL: {@code returns = advantages + values}). */
    static double[] returns(double[] advantages, double[] values) {
        double[] returns = new double[advantages.length];
        for (int t = 0; t < returns.length; t++) {
            returns[t] = advantages[t] + values[t];
        }
        return returns;
    }

    /**
     * Whitens every token's advantage of a rollout in place, over all its responses together (TRL's
     * {@code masked_whiten} with {@code shift_mean=True}):
     * <pre>
     *   A ← (A − mean)/√(var + 1e-8),   var = Σ(A − mean)²/(n − 1)   (unbiased, Bessel's correction)
     * </pre>
     * A rollout of a single token has no spread to estimate: its variance counts as 0.
     */
    static void whiten(List<double[]> advantages) {
        long n = 0;
        double sum = 0;
        for (double[] row : advantages) {
            for (double a : row) {
                sum += a;
                n++;
            }
        }
        double mean = sum / n;
        double squares = 0;
        for (double[] row : advantages) {
            for (double a : row) {
                squares += (a - mean) * (a - mean);
            }
        }
        double variance = n > 1 ? squares / (n - 1) : 0;
        double scale = 1 / Math.sqrt(variance + WHITEN_EPSILON);
        for (double[] row : advantages) {
            for (int t = 0; t < row.length; t++) {
                row[t] = (row[t] - mean) * scale;
            }
        }
    }
}
