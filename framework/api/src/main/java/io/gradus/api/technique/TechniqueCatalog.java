package io.gradus.api.technique;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The techniques registered right now, tracked live from the service registry. Provided by the
 * host; bundles come and go while it runs, so ask again rather than caching what it returns.
 */
@ProviderType
public interface TechniqueCatalog {

    /** Every registered technique, sorted by family, name and version. */
    List<TechniqueDescriptor> techniques();

    /**
     * The highest version of the tuner {@code name} whose version lies in {@code versionRange}.
     *
     * @param versionRange an OSGi version range such as {@code [1.0,2.0)}, a single version meaning
     *     "at least", or {@code null} for any version
     * @throws IllegalArgumentException when the range is not valid OSGi syntax
     */
    Optional<Found<Tuner<?>>> tuner(String name, String versionRange);

    /** Like {@link #tuner(String, String)}, for objectives. */
    Optional<Found<Objective<?>>> objective(String name, String versionRange);

    /**
     * A technique found in the registry together with its service object.
     *
     * @param descriptor who provides it
     * @param technique the service, valid until that bundle stops
     */
    record Found<T>(TechniqueDescriptor descriptor, T technique) {}
}
