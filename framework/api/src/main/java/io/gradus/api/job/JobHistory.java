package io.gradus.api.job;

import java.util.List;
import java.util.Map;

/**
 * What a job has recorded so far, for charts after a reload: its {@code metrics.jsonl} and
 * {@code eval.jsonl}, one map per line, in order.
 *
 * @param metrics one entry per optimizer step ({@code step}, {@code loss}, {@code learningRate},
 *     {@code gradNorm}, {@code tokensPerSecond}, the objective's own metrics), and one per steering
 *     change ({@code step} and {@code steered})
 * @param evals one entry per held-out evaluation ({@code step}, {@code loss} and the objective's
 *     held-out metrics)
 */
public record JobHistory(List<Map<String, Object>> metrics, List<Map<String, Object>> evals) {

    public JobHistory {
        metrics = List.copyOf(metrics);
        evals = List.copyOf(evals);
    }
}
