package io.gradus.cli;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.host.GradusHost;
import io.gradus.host.HostSettings;
import io.gradus.host.KernelSelection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The distribution booted for the length of one command, without console and with a private state
 * folder, so that it can run beside a {@code gradus start} host.
 */
public final class QuietHost implements AutoCloseable {

    private final Path state;
    private final GradusHost host;

    public QuietHost() throws Exception {
        HostSettings dist = Distribution.settings();
        state = Files.createTempDirectory("gradus-cli-");
        host = GradusHost.start(new HostSettings(dist.systemDir(), dist.deployDir(), state, dist.consoleHost(), -1));
        host.awaitDeployFolder(Duration.ofSeconds(30));
    }

    public GradusHost host() {
        return host;
    }

    /**
     * The kernel backend for {@code requested} ({@code auto}, {@code cpu}, {@code tornado}), chosen by
     * {@link KernelSelection}, which says on standard error which one and why.
     */
    public KernelBackend kernels(String requested) throws InterruptedException {
        KernelSelection.Choice choice = KernelSelection.select(host, requested);
        System.err.println("gradus: " + choice.line());
        return choice.backend();
    }

    @Override
    public void close() throws IOException {
        try {
            host.close();
        } finally {
            try (Stream<Path> paths = Files.walk(state)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
