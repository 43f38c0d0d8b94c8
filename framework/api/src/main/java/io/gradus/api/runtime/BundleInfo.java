package io.gradus.api.runtime;

import io.gradus.api.technique.TechniqueDescriptor;
import java.util.List;

/**
 * A bundle of the running framework, as the console and the command line show it.
 *
 * @param id the framework's bundle id
 * @param symbolicName its symbolic name
 * @param version its version
 * @param state {@code INSTALLED}, {@code RESOLVED}, {@code STARTING}, {@code ACTIVE}, {@code STOPPING}
 * @param location where it was installed from
 * @param techniques the techniques it registers right now (empty for other bundles)
 * @param problem why it is not working (e.g. the imports nothing provides), or {@code null}
 */
public record BundleInfo(
        long id,
        String symbolicName,
        String version,
        String state,
        String location,
        List<TechniqueDescriptor> techniques,
        String problem) {

    public BundleInfo {
        techniques = List.copyOf(techniques);
    }
}
