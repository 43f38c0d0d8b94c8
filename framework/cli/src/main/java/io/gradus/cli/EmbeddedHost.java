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
 * The distribution booted inside one command, for the length of that command: without console and
 * with a private state folder, so that it can run beside a {@code gradus start} host. Commands that
 * run jobs use it only when no host is running ({@link HostConnection}).
 */
public final class EmbeddedHost implements AutoCloseable {

    private final Path state;
    private final GradusHost host;

    public EmbeddedHost() throws Exception {
        this(System.getProperty("gradus.kernel.backend", KernelSelection.AUTO));
    }

    /** @param kernelBackend the backend the host's jobs run on ({@code auto}, {@code cpu}, {@code tornado}) */
    public EmbeddedHost(String kernelBackend) throws Exception {
        state = Files.createTempDirectory("gradus-cli-");
        host = GradusHost.start(Distribution.settings().withStateDir(state).withConsole("127.0.0.1", -1)
                .withKernelBackend(kernelBackend));
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
