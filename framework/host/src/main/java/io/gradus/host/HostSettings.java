package io.gradus.host;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the host finds its bundles and keeps its state, and how the console listens.
 *
 * @param systemDir runtime bundles installed and started at every boot (SCR, ConfigAdmin, the
 *     console...); read-only for the host
 * @param deployDir the watched folder: technique bundles dropped here are installed, updated and
 *     removed while the host runs
 * @param stateDir the framework cache and the console token file; recreated at every boot
 * @param consoleHost address the console binds to
 * @param consolePort port the console binds to; 0 picks a free one, -1 runs no console
 */
public record HostSettings(Path systemDir, Path deployDir, Path stateDir, String consoleHost, int consolePort) {

    /** The console's default port. */
    public static final int DEFAULT_PORT = 8080;

    public HostSettings {
        Objects.requireNonNull(systemDir, "systemDir");
        Objects.requireNonNull(deployDir, "deployDir");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(consoleHost, "consoleHost");
        if (consolePort < -1 || consolePort > 65535) {
            throw new IllegalArgumentException("console port must be between 0 and 65535 (or -1 for none), was "
                    + consolePort);
        }
    }

    /**
     * The layout of an assembled distribution (see {@code bundles/}): {@code system/},
     * {@code deploy/} and {@code var/} under one folder, console on 127.0.0.1:8080.
     */
    public static HostSettings forDistribution(Path home) {
        return new HostSettings(
                home.resolve("system"), home.resolve("deploy"), home.resolve("var"), "127.0.0.1", DEFAULT_PORT);
    }

    public HostSettings withConsole(String host, int port) {
        return new HostSettings(systemDir, deployDir, stateDir, host, port);
    }

    public HostSettings withDeployDir(Path dir) {
        return new HostSettings(systemDir, dir, stateDir, consoleHost, consolePort);
    }
}
