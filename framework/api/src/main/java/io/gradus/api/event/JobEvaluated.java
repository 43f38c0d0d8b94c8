package io.gradus.api.event;

import java.time.Instant;
import java.util.Map;

/**
 * A held-out evaluation of a job, at one of its checkpoints (a line of its {@code eval.jsonl}).
 *
 * @param jobId the job
 * @param step the optimizer step it was measured after
 * @param loss the held-out loss
 * @param metrics further held-out figures, empty when there are none
 * @since 1.2
 */
public record JobEvaluated(Instant time, String jobId, long step, double loss, Map<String, Double> metrics)
        implements GradusEvent {

    public JobEvaluated {
        metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
    }

    @Override
    public String type() {
        return "job.eval";
    }
}
