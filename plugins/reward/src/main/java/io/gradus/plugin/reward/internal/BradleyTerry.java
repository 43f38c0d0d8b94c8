package io.gradus.plugin.reward.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Bradley–Terry loss of a reward model over P pairs of scores (Ouyang et al. 2022, §3.5; TRL's
 * {@code RewardTrainer.compute_loss}), with the optional margin m_p of each pair and the centring term
 * of Eisenstein et al. 2023:
 * <pre>
 *   z_p  = r_c − r_r − m_p
 *   loss = (1/P) Σ_p −log σ(z_p)  +  λ · (1/P) Σ_p (r_c + r_r)²
 *   ∂loss/∂r_c = (−σ(−z_p) + 2λ(r_c + r_r)) / P        ∂loss/∂r_r = (σ(−z_p) + 2λ(r_c + r_r)) / P
 * </pre>
 * with −log σ(z) = softplus(−z), computed as max(−z, 0) + log(1 + e^−|z|) so it neither overflows nor
 * loses precision. Scores come in pair order: r[2p] chosen, r[2p+1] rejected.
 */
final class BradleyTerry {

    private BradleyTerry() {}

    /**
     * What the loss and its metrics came to over a batch of pairs.
     *
     * @param loss the mean loss
     * @param dScores ∂loss/∂r per score, in the scores' order (scaled by the caller's factor)
     * @param metrics TRL's names: {@code accuracy} (share of pairs with r_c > r_r), {@code margin}
     *     (mean r_c − r_r), {@code min_reward}, {@code mean_reward}, {@code max_reward}
     */
    record Result(double loss, float[] dScores, Map<String, Double> metrics) {}

    /**
     * @param scores 2P scores, chosen and rejected of each pair in turn
     * @param margins P margins (NaN: none), or null
     * @param centering λ
     * @param gradScale multiplies the gradient (1 / gradient-accumulation steps)
     */
    static Result of(float[] scores, double[] margins, double centering, float gradScale) {
        int pairs = scores.length / 2;
        float[] dScores = new float[scores.length];
        double loss = 0;
        double correct = 0;
        double marginSum = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        for (int p = 0; p < pairs; p++) {
            double chosen = scores[2 * p];
            double rejected = scores[2 * p + 1];
            double m = margins == null || Double.isNaN(margins[p]) ? 0 : margins[p];
            double z = chosen - rejected - m;
            double center = chosen + rejected;
            loss += softplus(-z) + centering * center * center;
            double pull = sigmoid(-z); // d softplus(−z) / d(−z)
            dScores[2 * p] = (float) (gradScale * (-pull + 2 * centering * center) / pairs);
            dScores[2 * p + 1] = (float) (gradScale * (pull + 2 * centering * center) / pairs);
            correct += chosen > rejected ? 1 : 0;
            marginSum += chosen - rejected;
            min = Math.min(min, Math.min(chosen, rejected));
            max = Math.max(max, Math.max(chosen, rejected));
            sum += chosen + rejected;
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("accuracy", correct / pairs);
        metrics.put("margin", marginSum / pairs);
        metrics.put("min_reward", min);
        metrics.put("mean_reward", sum / scores.length);
        metrics.put("max_reward", max);
        return new Result(loss / pairs, dScores, metrics);
    }

    /** softplus(x) = log(1 + e^x), stable for any x. */
    static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    private static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}
