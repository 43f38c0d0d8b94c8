package io.gradus.api.event;

import java.time.Instant;

/**
 * A job moved to another state.
 *
 * @param jobId the job
 * @param state a {@link io.gradus.api.job.JobState} name: {@code QUEUED}, {@code RUNNING}, {@code SUCCEEDED}, {@code FAILED}, {@code CANCELLED} or {@code INTERRUPTED}
 * @param message why, for a person (the error for a failed job)
 */
public record JobStateChanged(Instant time, String jobId, String state, String message) implements GradusEvent {

    @Override
    public String type() {
        return "job.state";
    }
}
