package io.gradus.host;

import io.gradus.api.runtime.BundleOperationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Reports jars in the deploy folder that the watcher leaves alone without a word: FileInstall
 * silently skips a file that is not a bundle (a corrupt download, a plain library jar). Each such
 * file is reported once per version of the file, with the reason.
 */
final class DeployFolderAudit implements AutoCloseable {

    /** A file must be this old before it is judged, so half-copied files are not reported. */
    private static final Duration SETTLE = Duration.ofSeconds(1);

    private final Path deployDir;
    private final Predicate<Path> installed;
    private final BiConsumer<String, String> problems;
    private final Map<Path, FileTime> reported = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "gradus-deploy-audit");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param installed whether a deploy-folder file is installed as a bundle
     * @param problems receives (source, message) of each problem found
     */
    DeployFolderAudit(Path deployDir, Predicate<Path> installed, BiConsumer<String, String> problems) {
        this.deployDir = deployDir.toAbsolutePath().normalize();
        this.installed = installed;
        this.problems = problems;
        timer.scheduleWithFixedDelay(this::audit, 1, 1, TimeUnit.SECONDS);
    }

    private void audit() {
        List<Path> jars;
        try (Stream<Path> files = Files.list(deployDir)) {
            jars = files.filter(f -> f.toString().endsWith(".jar")).map(f -> f.toAbsolutePath().normalize()).toList();
        } catch (IOException e) {
            problems.accept("deploy folder " + deployDir, "cannot list it: " + e.getMessage());
            return;
        }
        reported.keySet().retainAll(jars);
        for (Path jar : jars) {
            try {
                FileTime modified = Files.getLastModifiedTime(jar);
                boolean settled = modified.toInstant().isBefore(Instant.now().minus(SETTLE));
                if (!settled || modified.equals(reported.get(jar)) || installed.test(jar)) {
                    continue;
                }
                String why;
                try {
                    var identity = FrameworkBundleAdmin.JarIdentity.of(Files.readAllBytes(jar));
                    why = "it holds " + identity + ", which is not installed (is the same bundle and version "
                            + "installed from another file?)";
                } catch (BundleOperationException e) {
                    why = e.getMessage() + "; the deploy folder watcher ignores it";
                }
                reported.put(jar, modified);
                problems.accept("deploy folder " + deployDir, jar + ": " + why);
            } catch (IOException e) {
                // The file went away between listing and reading: nothing to report.
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
