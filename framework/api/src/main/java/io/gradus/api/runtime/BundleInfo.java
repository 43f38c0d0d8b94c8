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
 * @param problem why it is not working (e.g. the imports nothing provides), or why its file in the
 *     deploy folder was not applied (the bundle then runs its last good revision); {@code null} if
 *     nothing is wrong
 * @param guarded whether it is one of the host's own bundles (the framework, the console, the
 *     kernels...), which stop, update and uninstall only change when forced (since 1.1)
 * @param usedBy the running jobs that use it, each described for a person (since 1.1)
 * @param pending what waits for those jobs to let go of it (e.g. {@code "update to 1.1.0 waits for
 *     job 3 (my-run)"}), or {@code null} (since 1.1)
 */
public record BundleInfo(
        long id,
        String symbolicName,
        String version,
        String state,
        String location,
        List<TechniqueDescriptor> techniques,
        String problem,
        boolean guarded,
        List<String> usedBy,
        String pending) {

    public BundleInfo {
        techniques = List.copyOf(techniques);
        usedBy = List.copyOf(usedBy);
    }

    /** A bundle that is not guarded, that no job uses and for which nothing waits (the 1.0 shape). */
    public BundleInfo(
            long id,
            String symbolicName,
            String version,
            String state,
            String location,
            List<TechniqueDescriptor> techniques,
            String problem) {
        this(id, symbolicName, version, state, location, techniques, problem, false, List.of(), null);
    }
}
