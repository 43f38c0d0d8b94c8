package io.gradus.api.technique;

import java.util.Objects;

/**
 * A technique as the host sees it in the service registry.
 *
 * @param name the {@link TechniqueName} of the service
 * @param family tuner or objective
 * @param version the version of the bundle that registers it (OSGi syntax, e.g. {@code 1.1.0})
 * @param description the technique's own one-line description
 * @param bundleId the id of that bundle in the running framework
 * @param bundleSymbolicName the symbolic name of that bundle
 */
public record TechniqueDescriptor(
        String name,
        TechniqueFamily family,
        String version,
        String description,
        long bundleId,
        String bundleSymbolicName) {

    public TechniqueDescriptor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(bundleSymbolicName, "bundleSymbolicName");
    }
}
