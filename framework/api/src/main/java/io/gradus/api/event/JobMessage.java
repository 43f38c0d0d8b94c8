package io.gradus.api.event;

import java.time.Instant;

/**
 * A line a job writes for the person following it (what it loaded, held-out results, warnings);
 * also kept in the job's {@code job.log}.
 *
 * @param jobId the job
 * @param text one line of text
 */
public record JobMessage(Instant time, String jobId, String text) implements GradusEvent {

    @Override
    public String type() {
        return "job.log";
    }
}
