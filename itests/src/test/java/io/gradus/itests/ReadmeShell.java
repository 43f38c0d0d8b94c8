package io.gradus.itests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs README.md's shell lines as written, through bash, against a {@link RunningHost}. The lines run
 * in a folder laid out like a Gradus checkout: {@code ./gradus} is the real script, and its
 * distribution {@code bundles/target/gradus} is the built one, but for its {@code deploy/} and
 * {@code var/} (the state folder, with {@code console.token}), which are the running host's. {@code ~}
 * is a fresh folder whose Maven settings name the local repository the build installed into, offline.
 * One substitution is made: the console's address as README writes it, {@code 127.0.0.1:8080}, becomes
 * the host's (it listens on a free port).
 */
final class ReadmeShell implements AutoCloseable {

    /** The console's address in README's lines. */
    static final String README_CONSOLE = "127.0.0.1:8080";

    private final RunningHost host;
    private final Path checkout;
    private final Path home;

    /** What a line printed, and how it ended. */
    record Result(int exit, String out, String err) {}

    ReadmeShell(RunningHost host) throws IOException {
        this.host = host;
        Path distribution = Path.of(System.getProperty("gradus.distribution"));
        Path root = Files.createTempDirectory("gradus-readme-");
        checkout = Files.createDirectories(root.resolve("checkout"));
        home = Files.createDirectories(root.resolve("home"));
        Files.createSymbolicLink(checkout.resolve("gradus"), distribution.resolve("../../../gradus").toRealPath());
        Path dist = Files.createDirectories(checkout.resolve("bundles/target/gradus"));
        try (Stream<Path> entries = Files.list(distribution)) {
            for (Path entry : entries.toList()) {
                String name = entry.getFileName().toString();
                if (!name.equals("deploy") && !name.equals("var")) {
                    Files.createSymbolicLink(dist.resolve(name), entry.toRealPath());
                }
            }
        }
        Files.createSymbolicLink(dist.resolve("deploy"), host.deployDir().toRealPath());
        Files.createSymbolicLink(dist.resolve("var"), host.host().settings().stateDir().toRealPath());
        Files.writeString(Files.createDirectories(home.resolve(".m2")).resolve("settings.xml"), """
                <settings>
                  <localRepository>%s</localRepository>
                  <offline>true</offline>
                </settings>
                """.formatted(System.getProperty("gradus.maven.repository")));
    }

    /** The folder the lines run in, a stand-in for the Gradus checkout. */
    Path checkout() {
        return checkout;
    }

    /** {@code ~} of the lines. */
    Path home() {
        return home;
    }

    /** Starts {@code lines} in bash, in the checkout; their output is the process's. */
    Process start(String lines) throws IOException {
        ProcessBuilder bash = new ProcessBuilder("bash", "-c", lines.replace(README_CONSOLE, host.url("/").getAuthority()))
                .directory(checkout.toFile());
        bash.environment().put("HOME", home.toString());
        bash.environment().put("PATH", System.getProperty("gradus.maven.home") + "/bin:" + System.getenv("PATH"));
        bash.environment().put("JAVA_HOME", System.getProperty("java.home"));
        bash.environment().put("GRADUS_SKIP_BUILD", "1"); // the build under test is the distribution
        Process process = bash.start();
        process.getOutputStream().close();
        return process;
    }

    /** Runs {@code lines} to their end, within {@code seconds}. */
    Result run(String lines, int seconds) throws IOException, InterruptedException {
        Process process = start(lines);
        StringBuilder out = new StringBuilder();
        StringBuilder err = new StringBuilder();
        Thread outDrain = Thread.ofVirtual().start(() -> process.inputReader(StandardCharsets.UTF_8).lines()
                .forEach(l -> out.append(l).append('\n')));
        Thread errDrain = Thread.ofVirtual().start(() -> process.errorReader(StandardCharsets.UTF_8).lines()
                .forEach(l -> err.append(l).append('\n')));
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            throw new AssertionError("did not end within " + seconds + " s: " + lines + "\n" + out + err);
        }
        outDrain.join();
        errDrain.join();
        return new Result(process.exitValue(), out.toString(), err.toString());
    }

    /** Deletes the checkout and the home folder (the links, not what they point to). */
    @Override
    public void close() throws IOException {
        try (Stream<Path> paths = Files.walk(checkout.getParent())) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
