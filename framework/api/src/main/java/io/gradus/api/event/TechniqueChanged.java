package io.gradus.api.event;

import java.time.Instant;

/**
 * A technique service was registered or unregistered.
 *
 * @param name the technique's name
 * @param family {@code tuner} or {@code objective}
 * @param version the version of the bundle providing it
 * @param bundleId the id of that bundle
 * @param change {@code REGISTERED} or {@code UNREGISTERED}
 */
public record TechniqueChanged(
        Instant time, String name, String family, String version, long bundleId, String change)
        implements GradusEvent {

    @Override
    public String type() {
        return "technique.changed";
    }
}
