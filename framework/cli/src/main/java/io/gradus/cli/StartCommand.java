package io.gradus.cli;

import io.gradus.host.GradusHost;
import io.gradus.host.HostSettings;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.osgi.framework.Bundle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gradus start}: runs the host and its web console until interrupted. */
@Command(
        name = "start",
        mixinStandardHelpOptions = true,
        description = {
            "Start the Gradus host: the OSGi framework, the technique bundles of the deploy folder and the web console.",
            "Drop a bundle jar into the deploy folder to install it, replace the file to update it, delete it to remove it."
        })
final class StartCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "8080", description = "Console port (0 picks a free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address the console binds to. Default: ${DEFAULT-VALUE} (this machine only).")
    String host;

    @Option(names = "--deploy", paramLabel = "DIR", description = "Watched deploy folder. Default: the distribution's deploy/.")
    Path deploy;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port must be between 0 and 65535, was " + port);
        }
        HostSettings settings = Distribution.settings().withConsole(host, port);
        if (deploy != null) {
            settings = settings.withDeployDir(deploy.toAbsolutePath().normalize());
        }
        PrintStream out = System.out;
        TerminalEvents terminal = new TerminalEvents(out);

        GradusHost gradus = GradusHost.start(settings);
        gradus.events().subscribe(terminal);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            terminal.showBundleChanges(false);
            out.println("Stopping Gradus...");
            gradus.close();
        }, "gradus-shutdown"));
        gradus.awaitDeployFolder(Duration.ofSeconds(30));
        Optional<URI> console = gradus.awaitConsole(Duration.ofSeconds(15));

        long active = Arrays.stream(gradus.context().getBundles())
                .filter(b -> b.getState() == Bundle.ACTIVE)
                .count();
        out.printf("Gradus %s: %d bundles active, %d techniques; deploy folder %s%n", Distribution.version(), active,
                gradus.catalog().techniques().size(), settings.deployDir());
        gradus.catalog().techniques().forEach(t -> out.printf("  %-9s %-12s %s%n", t.family().label(), t.name(), t.version()));
        gradus.problems().forEach(p -> out.println("PROBLEM " + p.source() + ": " + p.message()));
        if (console.isPresent()) {
            out.println("Console: " + console.get());
            addressWarning(host).ifPresent(out::println);
            out.println("Console token (needed to change bundles and to submit, cancel or steer jobs; also in "
                    + gradus.consoleTokenFile() + "):");
            out.println("  " + gradus.consoleToken().orElseThrow());
        } else {
            out.println("PROBLEM console: it did not start on " + host + ":" + port + " (see the lines above)");
        }
        out.println("Press Ctrl+C to stop.");
        terminal.showBundleChanges(true);
        gradus.awaitStopped();
        return 0;
    }

    /**
     * A warning when the console listens on an address other machines can reach: reading is open to
     * anyone who reaches it, and the token that allows changes travels in clear over HTTP. Empty for a
     * loopback address (or a name for one), and for a name that does not resolve (the console then
     * says it cannot listen there).
     */
    static Optional<String> addressWarning(String host) {
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
        if (address.isLoopbackAddress()) {
            return Optional.empty();
        }
        String where = address.isAnyLocalAddress() ? "every network address of this machine" : host;
        return Optional.of("warning: --host " + host + ": the console listens on " + where + ", reachable from other"
                + " machines; anyone who reaches it can read the bundles, jobs, events and problems, and the token that"
                + " allows changes travels in clear over HTTP. Use the default 127.0.0.1 unless the network is trusted.");
    }
}
