package io.gradus.api.event;

import java.time.Instant;

/**
 * A bundle changed state.
 *
 * @param bundleId the framework's id of the bundle
 * @param symbolicName its symbolic name
 * @param version its version after the change
 * @param state its state after the change ({@code INSTALLED}, {@code RESOLVED}, {@code ACTIVE}, ...)
 * @param change what happened ({@code INSTALLED}, {@code STARTED}, {@code UPDATED}, {@code UNINSTALLED}, ...)
 */
public record BundleChanged(
        Instant time, long bundleId, String symbolicName, String version, String state, String change)
        implements GradusEvent {

    @Override
    public String type() {
        return "bundle.changed";
    }
}
