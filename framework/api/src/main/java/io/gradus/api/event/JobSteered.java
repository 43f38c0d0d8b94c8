package io.gradus.api.event;

import java.time.Instant;
import java.util.Map;

/**
 * A running job's settings were changed (steered) from a step on.
 *
 * @param jobId the job
 * @param step the first step that runs with the changes
 * @param changes what changed, as it was asked for (e.g. {@code {"learningRate": 1e-4}})
 */
public record JobSteered(Instant time, String jobId, long step, Map<String, Object> changes) implements GradusEvent {

    public JobSteered {
        changes = Map.copyOf(changes);
    }

    @Override
    public String type() {
        return "job.steered";
    }
}
