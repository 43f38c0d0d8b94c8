package io.gradus.plugin.ppo.internal;

/**
 * PPO's two losses over the response tokens of one micro-batch (flat arrays, one entry per token),
 * with their gradients, as TRL's {@code PPOTrainer} computes them inside its PPO epochs. Means are
 * over the tokens given; the gradients are those of the means.
 */
final class ClippedLosses {

    private ClippedLosses() {}

    /**
     * The clipped surrogate's figures.
     *
     * @param loss mean over tokens of max(−A·ρ, −A·clip(ρ, 1 − ε, 1 + ε))
     * @param clipFraction share of tokens where the clipped term is the larger ({@code policy/clipfrac_avg})
     * @param approxKl ½·mean((log π − log π_old)²) ({@code policy/approxkl_avg})
     * @param meanRatio mean ρ ({@code val/ratio})
     * @param gradient d loss / d log π per token
     */
    record Policy(double loss, double clipFraction, double approxKl, double meanRatio, double[] gradient) {}

    /**
     * The clipped value loss's figures.
     *
     * @param loss ½·mean over tokens of max((V − R)², (clip(V, V_old ± ε_v) − R)²)
     * @param clipFraction share of tokens where the clipped term is the larger ({@code val/clipfrac_avg})
     * @param gradient d loss / d V per token
     */
    record Value(double loss, double clipFraction, double[] gradient) {}

    /**
     * The clipped surrogate objective of Schulman et al. 2017 (PPO, eq. 7), negated as a loss, with
     * ρ = exp(log π − log π_old):
     * <pre>
     *   loss   = mean_t max(−A_t·ρ_t, −A_t·clip(ρ_t, 1 − ε, 1 + ε))
     *   ∂/∂log π_t = −A_t·ρ_t / n   where the unclipped term is the larger, or ρ_t lies inside the clip
     *                              range; 0 where the clipped term is the larger and ρ_t outside it
     * </pre>
     */
    static Policy policy(double[] logProbs, double[] oldLogProbs, double[] advantages, double cliprange) {
        int n = logProbs.length;
        double[] gradient = new double[n];
        double loss = 0;
        double clipped = 0;
        double approxKl = 0;
        double ratios = 0;
        for (int i = 0; i < n; i++) {
            double difference = logProbs[i] - oldLogProbs[i];
            double ratio = Math.exp(difference);
            double bounded = Math.min(Math.max(ratio, 1 - cliprange), 1 + cliprange);
            double unclippedLoss = -advantages[i] * ratio;
            double clippedLoss = -advantages[i] * bounded;
            boolean inside = ratio >= 1 - cliprange && ratio <= 1 + cliprange;
            loss += Math.max(unclippedLoss, clippedLoss);
            gradient[i] = unclippedLoss >= clippedLoss || inside ? -advantages[i] * ratio / n : 0;
            clipped += clippedLoss > unclippedLoss ? 1 : 0;
            approxKl += 0.5 * difference * difference;
            ratios += ratio;
        }
        return new Policy(loss / n, clipped / n, approxKl / n, ratios / n, gradient);
    }

    /**
     * The clipped value loss of TRL (after OpenAI's baselines' PPO2):
     * <pre>
     *   V_clip = clip(V, V_old − ε_v, V_old + ε_v)
     *   loss   = ½·mean_t max((V_t − R_t)², (V_clip,t − R_t)²)
     *   ∂/∂V_t = (V_t − R_t)/n        where the unclipped term is the larger
     *          = (V_clip,t − R_t)/n   where the clipped one is and V_t lies inside the range, else 0
     * </pre>
     */
    static Value value(double[] values, double[] oldValues, double[] returns, double cliprangeValue) {
        int n = values.length;
        double[] gradient = new double[n];
        double loss = 0;
        double clipped = 0;
        for (int i = 0; i < n; i++) {
            double low = oldValues[i] - cliprangeValue;
            double high = oldValues[i] + cliprangeValue;
            double bounded = Math.min(Math.max(values[i], low), high);
            double unclippedLoss = (values[i] - returns[i]) * (values[i] - returns[i]);
            double clippedLoss = (bounded - returns[i]) * (bounded - returns[i]);
            loss += 0.5 * Math.max(unclippedLoss, clippedLoss);
            if (unclippedLoss >= clippedLoss) {
                gradient[i] = (values[i] - returns[i]) / n;
            } else {
                gradient[i] = values[i] >= low && values[i] <= high ? (bounded - returns[i]) / n : 0;
            }
            clipped += clippedLoss > unclippedLoss ? 1 : 0;
        }
        return new Value(loss / n, clipped / n, gradient);
    }
}
