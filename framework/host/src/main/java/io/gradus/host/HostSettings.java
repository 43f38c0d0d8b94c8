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
 * @param stateDir the framework cache (recreated at every boot), the console token and URL, and the job records (kept)
 * @param consoleHost address the console binds to
 * @param consolePort port the console binds to; 0 picks a free one, -1 runs no console
 * @param kernelBackend the kernel backend jobs run on: {@code auto}, {@code cpu} or {@code tornado}
 * @param jobConcurrency how many jobs train at the same time
 */
public record HostSettings(Path systemDir, Path deployDir, Path stateDir, String consoleHost, int consolePort,
        String kernelBackend, int jobConcurrency) {

    /** The console's default port. */
    public static final int DEFAULT_PORT = 8080;

    public HostSettings {
        Objects.requireNonNull(systemDir, "systemDir");
        Objects.requireNonNull(deployDir, "deployDir");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(consoleHost, "consoleHost");
        Objects.requireNonNull(kernelBackend, "kernelBackend");
        if (jobConcurrency < 1) {
            throw new IllegalArgumentException("job concurrency must be at least 1, was " + jobConcurrency);
        }
        if (consolePort < -1 || consolePort > 65535) {
            throw new IllegalArgumentException("console port must be between 0 and 65535 (or -1 for none), was "
                    + consolePort);
        }
    }

    /**
     * Settings with the kernel backend of {@code -Dgradus.kernel.backend} (default {@code auto}) and
     * the job concurrency of {@code -Dgradus.jobs.concurrency} (default 1).
     */
    public HostSettings(Path systemDir, Path deployDir, Path stateDir, String consoleHost, int consolePort) {
        this(systemDir, deployDir, stateDir, consoleHost, consolePort, System.getProperty("gradus.kernel.backend", "auto"),
                Integer.getInteger("gradus.jobs.concurrency", 1));
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
        return new HostSettings(systemDir, deployDir, stateDir, host, port, kernelBackend, jobConcurrency);
    }

    public HostSettings withDeployDir(Path dir) {
        return new HostSettings(systemDir, dir, stateDir, consoleHost, consolePort, kernelBackend, jobConcurrency);
    }

    public HostSettings withStateDir(Path dir) {
        return new HostSettings(systemDir, deployDir, dir, consoleHost, consolePort, kernelBackend, jobConcurrency);
    }

    public HostSettings withKernelBackend(String name) {
        return new HostSettings(systemDir, deployDir, stateDir, consoleHost, consolePort, name, jobConcurrency);
    }
}
