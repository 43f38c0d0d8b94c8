package io.gradus.api.event;

import java.time.Instant;

/**
 * A job moved to another state.
 *
 * @param jobId the job
 * @param state {@code QUEUED}, {@code RUNNING}, {@code SUCCEEDED}, {@code FAILED} or {@code CANCELLED}
 * @param message why, for a person (the error for a failed job)
 */
public record JobStateChanged(Instant time, String jobId, String state, String message) implements GradusEvent {

    @Override
    public String type() {
        return "job.state";
    }
}
