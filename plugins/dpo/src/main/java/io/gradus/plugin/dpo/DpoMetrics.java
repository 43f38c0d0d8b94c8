package io.gradus.plugin.dpo;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * TRL's DPO metrics, summed over the pairs and completion tokens of one batch or of every held-out
 * batch, and divided at the end: {@code loss}; {@code rewards/chosen}, {@code rewards/rejected} (the
 * means of β·(π − ρ)); {@code rewards/accuracies} (the share of pairs whose chosen reward is the
 * higher); {@code rewards/margins} (the mean difference); {@code logps/chosen}, {@code logps/rejected}
 * (the means of the policy's summed log-probabilities); {@code logits/chosen}, {@code logits/rejected}
 * (the mean over completion tokens of the mean logit over the vocabulary, per token as TRL averages).
 */
final class DpoMetrics {

    private long pairs;
    private double loss;
    private double chosenRewards;
    private double rejectedRewards;
    private double correct;
    private double chosenLogps;
    private double rejectedLogps;
    private double chosenLogits;
    private long chosenTokens;
    private double rejectedLogits;
    private long rejectedTokens;

    /**
     * Adds one batch of pairs.
     *
     * @param meanLoss the batch's mean loss over its pairs
     * @param policy the policy's pass over the batch
     * @param chosenRatios π_c − ρ_c per pair
     * @param rejectedRatios π_r − ρ_r per pair
     */
    void add(double meanLoss, PolicyPass policy, double[] chosenRatios, double[] rejectedRatios, double beta) {
        int count = chosenRatios.length;
        pairs += count;
        loss += meanLoss * count;
        for (int p = 0; p < count; p++) {
            double chosen = beta * chosenRatios[p];
            double rejected = beta * rejectedRatios[p];
            chosenRewards += chosen;
            rejectedRewards += rejected;
            correct += chosen > rejected ? 1 : 0;
            chosenLogps += policy.logps()[2 * p];
            rejectedLogps += policy.logps()[2 * p + 1];
        }
        chosenLogits += policy.chosenLogitSum();
        chosenTokens += policy.chosenTokens();
        rejectedLogits += policy.rejectedLogitSum();
        rejectedTokens += policy.rejectedTokens();
    }

    long pairs() {
        return pairs;
    }

    double loss() {
        return loss / pairs;
    }

    /** The metrics under TRL's names. */
    Map<String, Double> values() {
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("loss", loss / pairs);
        values.put("rewards/chosen", chosenRewards / pairs);
        values.put("rewards/rejected", rejectedRewards / pairs);
        values.put("rewards/accuracies", correct / pairs);
        values.put("rewards/margins", (chosenRewards - rejectedRewards) / pairs);
        values.put("logps/chosen", chosenLogps / pairs);
        values.put("logps/rejected", rejectedLogps / pairs);
        values.put("logits/chosen", chosenTokens == 0 ? 0 : chosenLogits / chosenTokens);
        values.put("logits/rejected", rejectedTokens == 0 ? 0 : rejectedLogits / rejectedTokens);
        return values;
    }
}
