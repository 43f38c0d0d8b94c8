package io.gradus.api.event;

import java.time.Instant;

/**
 * Something went wrong that a person should see: a bundle that cannot resolve or start, a jar that
 * cannot be installed, a failing job.
 *
 * @param source what the problem is about (a bundle's name, a file, a job id)
 * @param message what went wrong and, where known, what to do
 */
public record Problem(Instant time, String source, String message) implements GradusEvent {

    @Override
    public String type() {
        return "problem";
    }
}
