package io.gradus.plugin.dpo;

/**
 * The DPO family of preference losses over P pairs, and their gradients with respect to the policy's
 * sequence log-probabilities (TRL's {@code DPOTrainer._compute_loss}). For pair p, π and ρ are the
 * policy's and the reference's summed log-probabilities of a completion, h = π − ρ its log-ratio,
 * Δ = h_c − h_r, z = β·Δ, ε the label smoothing, and the loss of a batch the mean over its pairs:
 * <pre>
 *   sigmoid   −(1−ε)·log σ(z) − ε·log σ(−z)                    DPO (Rafailov et al. 2023, eq. 7); with ε > 0
 *                                                             conservative DPO (Mitchell 2023, "A note on DPO
 *                                                             with noisy preferences")
 *   robust    (−(1−ε)·log σ(z) + ε·log σ(−z)) / (1 − 2ε)      robust DPO (Chowdhury et al. 2024, "Provably
 *                                                             robust DPO"): unbiased under flipped labels
 *   hinge     max(0, 1 − z)                                   SLiC-HF's rank calibration loss (Zhao et al. 2023)
 *   ipo       (h_c/n_c − h_r/n_r − 1/(2β))²                   IPO (Azar et al. 2023, eq. 17, τ = β), with the
 *                                                             log-ratios averaged over each completion's n tokens
 *                                                             as TRL does
 * </pre>
 * and −log σ(z) = softplus(−z), computed as max(−z, 0) + log(1 + e^−|z|) so it neither overflows nor
 * loses precision. Gradients: ∂/∂h_c = β·∂L/∂z = −∂/∂h_r for all but IPO, where ∂/∂h_c = 2d/n_c and
 * ∂/∂h_r = −2d/n_r with d the bracket; the reference takes no gradient, so ∂/∂π = ∂/∂h.
 */
final class DpoLoss {

    private DpoLoss() {}

    /**
     * A batch's loss and its gradients.
     *
     * @param loss the mean loss over the pairs
     * @param dChosen ∂loss/∂π_c per pair
     * @param dRejected ∂loss/∂π_r per pair
     */
    record Result(double loss, double[] dChosen, double[] dRejected) {}

    /**
     * @param chosenRatios h_c per pair
     * @param rejectedRatios h_r per pair
     * @param chosenLengths n_c per pair: the chosen completion's scored tokens (IPO only)
     * @param rejectedLengths n_r per pair (IPO only)
     */
    static Result of(DpoConfig config, double[] chosenRatios, double[] rejectedRatios, int[] chosenLengths,
            int[] rejectedLengths) {
        double beta = config.beta();
        int pairs = chosenRatios.length;
        double eps = config.labelSmoothing();
        double[] dChosen = new double[pairs];
        double[] dRejected = new double[pairs];
        double loss = 0;
        for (int p = 0; p < pairs; p++) {
            double z = beta * (chosenRatios[p] - rejectedRatios[p]);
            double pairLoss;
            double dz; // ∂(pair loss)/∂z
            switch (config.lossType()) {
                case "sigmoid" -> {
                    pairLoss = (1 - eps) * softplus(-z) + eps * softplus(z);
                    dz = -(1 - eps) * sigmoid(-z) + eps * sigmoid(z);
                }
                case "robust" -> {
                    pairLoss = ((1 - eps) * softplus(-z) - eps * softplus(z)) / (1 - 2 * eps);
                    dz = (-(1 - eps) * sigmoid(-z) - eps * sigmoid(z)) / (1 - 2 * eps);
                }
                case "hinge" -> {
                    pairLoss = Math.max(0, 1 - z);
                    dz = 1 - z > 0 ? -1 : 0;
                }
                case "ipo" -> {
                    // Completions are never empty (PreferenceData and the objective refuse them); TRL clamps at 1.
                    double nc = Math.max(1, chosenLengths[p]);
                    double nr = Math.max(1, rejectedLengths[p]);
                    double d = chosenRatios[p] / nc - rejectedRatios[p] / nr - 1 / (2 * beta);
                    loss += d * d;
                    dChosen[p] = 2 * d / nc / pairs;
                    dRejected[p] = -2 * d / nr / pairs;
                    continue;
                }
                default -> throw new IllegalArgumentException("unknown lossType " + config.lossType());
            }
            loss += pairLoss;
            dChosen[p] = beta * dz / pairs;
            dRejected[p] = -beta * dz / pairs;
        }
        return new Result(loss / pairs, dChosen, dRejected);
    }

    /** softplus(x) = log(1 + e^x), stable for any x. */
    static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}
