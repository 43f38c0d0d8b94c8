package io.gradus.cli;

import io.gradus.host.CodeSource;
import io.gradus.host.HostSettings;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The assembled distribution the command line runs from (built by {@code bundles/}): {@code lib/}
 * (the host's class path), {@code system/} (runtime bundles), {@code deploy/} (technique bundles,
 * watched) and {@code var/} (state).
 */
final class Distribution {

    /** System property the {@code gradus} script sets to the distribution folder. */
    static final String HOME_PROPERTY = "gradus.home";
    /** System property naming another state folder (tests; several hosts on one distribution). */
    static final String STATE_PROPERTY = "gradus.state";

    private Distribution() {}

    /** The distribution folder: {@code -Dgradus.home}, else the folder above the host jar's {@code lib/}. */
    static Path home() {
        String configured = System.getProperty(HOME_PROPERTY);
        Path home = configured != null ? Path.of(configured) : CodeSource.of(Distribution.class).getParent().getParent();
        if (!Files.isDirectory(home.resolve("system"))) {
            throw new IllegalStateException("no Gradus distribution at " + home.toAbsolutePath()
                    + " (expected a system/ folder); build one with ./gradus or mvn package");
        }
        return home.toAbsolutePath().normalize();
    }

    /**
     * The distribution's settings; the state folder (where a running host keeps its lock, console
     * address and token, and job records) is {@code var/}, or {@code -Dgradus.state} when set.
     */
    static HostSettings settings() {
        HostSettings settings = HostSettings.forDistribution(home());
        String state = System.getProperty(STATE_PROPERTY);
        return state == null || state.isBlank() ? settings : settings.withStateDir(Path.of(state).toAbsolutePath());
    }

    /** The host's version, from its jar's bnd-generated manifest. */
    static String version() {
        try {
            String version = CodeSource.manifest(Distribution.class).getMainAttributes().getValue("Bundle-Version");
            return version == null ? "(unknown version)" : version;
        } catch (RuntimeException e) {
            return "(unknown version)";
        }
    }
}
