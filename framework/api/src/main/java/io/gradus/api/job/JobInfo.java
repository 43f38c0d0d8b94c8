package io.gradus.api.job;

import io.gradus.api.technique.TechniqueDescriptor;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A job as the job service shows it.
 *
 * @param id the job's id, unique in its host
 * @param name the job's name (from its spec)
 * @param state where it is
 * @param message for a person: what it is doing, or why it stopped
 * @param spec the job as submitted, relative paths made absolute
 * @param output the job's output folder
 * @param result the trained model or adapter folder once the job succeeded, else {@code null}
 * @param step optimizer steps done
 * @param totalSteps optimizer steps planned
 * @param loss the last step's loss, or {@code null} before the first step
 * @param etaSeconds estimated seconds to the last step while running, else {@code null}
 * @param techniques the tuner and objective the job runs with (bundle and version), once resolved
 * @param submitted when it was submitted
 * @param started when it last started running, or {@code null}
 * @param finished when it last stopped, or {@code null}
 */
public record JobInfo(
        String id,
        String name,
        JobState state,
        String message,
        JobSpec spec,
        String output,
        String result,
        long step,
        long totalSteps,
        Double loss,
        Double etaSeconds,
        List<TechniqueDescriptor> techniques,
        Instant submitted,
        Instant started,
        Instant finished) {

    public JobInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(spec, "spec");
        techniques = List.copyOf(techniques);
    }
}
