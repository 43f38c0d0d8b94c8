package io.gradus.api.technique;

import java.util.Map;

/**
 * What one objective step reports.
 *
 * @param loss the mean loss over the counted tokens (or pairs)
 * @param tokens the number of target tokens (or examples) the loss was averaged over
 * @param metrics further named figures (e.g. accuracy, reward margin), shown beside the loss
 */
public record StepResult(double loss, long tokens, Map<String, Double> metrics) {

    public StepResult {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, was " + tokens);
        }
        metrics = Map.copyOf(metrics);
    }
}
