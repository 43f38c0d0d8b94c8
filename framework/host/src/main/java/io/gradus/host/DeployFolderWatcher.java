package io.gradus.host;

import static io.gradus.api.runtime.BundleOperationException.Reason.CONFLICT;
import static io.gradus.api.runtime.BundleOperationException.Reason.FAILED;

import io.gradus.api.runtime.BundleOperationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;

/**
 * The deploy folder, watched by the host: each settled {@code *.jar} is validated, then installed,
 * updated or uninstalled, one file one bundle (docs/DESIGN.md, "The deploy folder, owned by the
 * host"). {@link #poll()} runs on the bundle-operations thread every {@link #POLL}; the methods
 * that {@code BundleAdmin} uses to operate through the folder run there too.
 */
final class DeployFolderWatcher {

    /** How often the folder is looked at; a file must look the same twice in a row to be acted on. */
    static final Duration POLL = Duration.ofMillis(500);

    /** The cause under which a failed poll is a problem (cleared by the next good poll). */
    static final String NAME = "deploy folder watcher";

    private final Path dir;
    private final BundleContext context;
    private final BundleChanges changes;
    private final HostProblems problems;

    /** Each file's size and time at the previous poll: a file is settled when they did not change. */
    private final Map<Path, Stamp> seen = new HashMap<>();
    /** Each file's size and time when it was last acted on: nothing to do while they stay so. */
    private final Map<Path, Stamp> handled = new HashMap<>();
    /** Files not installed because their symbolic name is installed already, with that name. */
    private final Map<Path, String> duplicates = new HashMap<>();
    private volatile boolean upToDate;
    private volatile long polls;

    /** A file's size and modification time: what changes while it is written. */
    private record Stamp(long size, FileTime modified) {
        static Stamp of(Path file) throws IOException {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(attributes.size(), attributes.lastModifiedTime());
        }

        boolean olderThan(Duration age) {
            return modified.toInstant().isBefore(Instant.now().minus(age));
        }
    }

    /** What a settled file holds: a valid bundle jar, or why it is not one. */
    private record Content(Path file, Stamp stamp, BundleJar jar, String invalid) {
        /** Whether the file bears its bundle's name ({@code <symbolic name>.jar}): it goes first. */
        boolean named() {
            return jar != null && file.getFileName().toString().equals(jar.symbolicName() + ".jar");
        }
    }

    DeployFolderWatcher(Path dir, BundleContext context, BundleChanges changes, HostProblems problems) {
        this.dir = dir.toAbsolutePath().normalize();
        this.context = context;
        this.changes = changes;
        this.problems = problems;
    }

    /**
     * Looks at the folder once and acts on every settled file that changed since it was last acted
     * on; then applies the changes that waited for jobs, and starts again what should run. A failure
     * with one file is that file's problem; the file is tried again at the next poll.
     */
    void poll() {
        List<Path> jars;
        try {
            jars = jars();
            problems.clear(NAME);
        } catch (IOException e) {
            problems.report(NAME, dir.toString(), "cannot list the deploy folder " + dir + ": " + e.getMessage());
            finishPoll(false);
            return;
        }
        boolean changed = false;
        Set<Path> present = new HashSet<>(jars);
        for (Path gone : List.copyOf(handled.keySet())) {
            if (!present.contains(gone)) {
                changed |= removed(gone, false);
            }
        }
        seen.keySet().retainAll(present);
        duplicates.keySet().retainAll(present);

        boolean behind = false;
        List<Content> ready = new ArrayList<>();
        for (Path jar : jars) {
            Stamp now;
            try {
                now = Stamp.of(jar);
            } catch (IOException e) {
                continue; // gone since the listing: the next poll sees it gone
            }
            Stamp before = seen.put(jar, now);
            if (now.equals(handled.get(jar))) {
                continue;
            }
            if (before == null ? now.olderThan(POLL) : before.equals(now)) {
                ready.add(read(jar, now));
            } else {
                behind = true;
            }
        }
        // A file named after its bundle wins over a copy under another name found in the same poll.
        ready.sort(Comparator.comparing((Content c) -> !c.named()).thenComparing(c -> c.file().getFileName().toString()));

        List<Bundle> installed = new ArrayList<>();
        for (Content content : ready) {
            try {
                changed |= act(content, installed);
            } catch (RuntimeException e) {
                problems.report(fileCause(content.file()), content.file().toString(), content.file()
                        + ": could not be deployed (" + e.getMessage() + "); it is tried again at the next poll");
                handled.remove(content.file());
            }
        }
        for (Bundle bundle : installed) {
            changes.start(bundle);
        }
        reconsiderDuplicates();
        changes.applyWaiting();
        if (changed) {
            changes.retryStarts(b -> fileOf(b).isPresent());
        }
        finishPoll(!behind);
    }

    private void finishPoll(boolean settled) {
        upToDate = settled;
        polls++;
    }

    /** How many polls have finished. */
    long polls() {
        return polls;
    }

    /** Whether the last poll found every file settled and dealt with (installed, or a problem). */
    boolean upToDate() {
        return upToDate;
    }

    /**
     * Acts on a settled file that changed: installs its bundle (added to {@code installed}, to be
     * started once every new file is installed), updates the bundle it held, or records why not as
     * the file's problem.
     *
     * @return whether the framework changed
     */
    private boolean act(Content content, List<Bundle> installed) {
        Path file = content.file();
        Bundle owner = context.getBundle(location(file));
        if (content.invalid() != null) {
            return refuse(content, content.invalid() + (owner == null ? "; it is not installed" : keepsRunning(owner)));
        }
        BundleJar jar = content.jar();
        if (owner != null) {
            if (!jar.symbolicName().equals(owner.getSymbolicName())) {
                return refuse(content, "it now holds " + jar + ", not a version of " + owner.getSymbolicName()
                        + keepsRunning(owner) + " (give " + jar.symbolicName() + " a file of its own)");
            }
            try {
                updateFrom(file, content.stamp(), owner, jar, false);
            } catch (BundleChanges.RevisionRefused e) {
                return refuse(content, e.getMessage() + keepsRunning(owner));
            } catch (BundleException e) {
                return refuse(content, "the framework refused to update " + FrameworkBundleAdmin.describe(owner)
                        + " from it: " + BundleDiagnosis.reason(e) + keepsRunning(owner));
            }
            return true;
        }
        Bundle other = bundleNamed(jar.symbolicName());
        if (other != null) {
            refuse(content, "it holds " + jar + ", but " + FrameworkBundleAdmin.describe(other)
                    + " is already installed from " + origin(other)
                    + "; it is not installed (one bundle, one file: remove one of the two)");
            duplicates.put(file, jar.symbolicName());
            return false;
        }
        try {
            installed.add(installFrom(file, content.stamp(), jar));
        } catch (BundleException e) {
            return refuse(content, "the framework refused to install " + jar + " from it: " + BundleDiagnosis.reason(e));
        }
        return true;
    }

    /** Records why a settled file was not applied, as its problem, and that it was dealt with. */
    private boolean refuse(Content content, String why) {
        handled.put(content.file(), content.stamp());
        problems.report(fileCause(content.file()), content.file().toString(), content.file() + ": " + why);
        return false;
    }

    private static String keepsRunning(Bundle owner) {
        return "; " + FrameworkBundleAdmin.describe(owner) + " keeps running its last good revision";
    }

    /** Installs the bundle of a deploy file (not started) and records the file as dealt with. */
    private Bundle installFrom(Path file, Stamp stamp, BundleJar jar) throws BundleException {
        Bundle bundle = changes.install(location(file), jar);
        dealtWith(file, stamp);
        return bundle;
    }

    /** {@link #installFrom(Path, Stamp, BundleJar)} for a file just written by the host. */
    Bundle installFrom(Path file, BundleJar jar) throws BundleException {
        return installFrom(file, stampOf(file), jar);
    }

    /**
     * Updates {@code owner} from its deploy file (or has the update wait for the jobs that pin it).
     *
     * @return as {@link BundleChanges#update}
     */
    String updateFrom(Path file, Bundle owner, BundleJar jar, boolean now) throws BundleException {
        return updateFrom(file, stampOf(file), owner, jar, now);
    }

    private String updateFrom(Path file, Stamp stamp, Bundle owner, BundleJar jar, boolean now) throws BundleException {
        dealtWith(file, stamp);
        return changes.update(owner, jar, now);
    }

    /**
     * A deploy file is gone: its bundle is uninstalled (or waits for the jobs that pin it), its
     * problem goes. If the framework fails, that is the bundle's problem and the next poll tries
     * again.
     *
     * @return whether a bundle was uninstalled
     */
    boolean removed(Path file, boolean now) {
        Bundle owner = context.getBundle(location(file));
        boolean uninstalled = false;
        if (owner != null) {
            String cause = BundleChanges.bundleCause(owner.getBundleId()) + "removal";
            try {
                uninstalled = changes.uninstall(owner, now);
                problems.clear(cause);
            } catch (BundleException | RuntimeException e) {
                problems.report(cause, FrameworkBundleAdmin.describe(owner), "cannot uninstall "
                        + FrameworkBundleAdmin.describe(owner) + " after " + file + " was deleted (" + e.getMessage()
                        + "); it is tried again at the next poll");
                return false;
            }
        }
        handled.remove(file);
        seen.remove(file);
        duplicates.remove(file);
        problems.clear(fileCause(file));
        return uninstalled;
    }

    /**
     * Writes {@code jar}, the revision its bundle runs, back into {@code file} after the console
     * wrote a revision there that was refused, so that a restart installs what runs.
     */
    void restore(Path file, BundleJar jar) {
        write(file, jar.bytes());
        dealtWith(file, stampOf(file));
    }

    private void dealtWith(Path file, Stamp stamp) {
        handled.put(file, stamp);
        seen.put(file, stamp);
        duplicates.remove(file);
        problems.clear(fileCause(file));
    }

    /** A file refused as a duplicate is looked at again once no bundle has its symbolic name. */
    private void reconsiderDuplicates() {
        for (Map.Entry<Path, String> duplicate : List.copyOf(duplicates.entrySet())) {
            if (bundleNamed(duplicate.getValue()) == null) {
                duplicates.remove(duplicate.getKey());
                handled.remove(duplicate.getKey());
            }
        }
    }

    private Content read(Path file, Stamp stamp) {
        try {
            return new Content(file, stamp, BundleJar.of(Files.readAllBytes(file)), null);
        } catch (BundleOperationException e) {
            return new Content(file, stamp, null, e.getMessage());
        } catch (IOException e) {
            return new Content(file, stamp, null, "cannot be read: " + e.getMessage());
        }
    }

    /** The bundle (not uninstalled) with this symbolic name, from any location, or {@code null}. */
    Bundle bundleNamed(String symbolicName) {
        for (Bundle bundle : context.getBundles()) {
            if (symbolicName.equals(bundle.getSymbolicName()) && bundle.getState() != Bundle.UNINSTALLED) {
                return bundle;
            }
        }
        return null;
    }

    /** Where a bundle came from, for a person: its deploy file, or the host's own bundles. */
    private String origin(Bundle bundle) {
        return fileOf(bundle).map(Path::toString).orElse("the host's own bundles (" + bundle.getLocation() + ")");
    }

    /** The deploy-folder file a bundle was installed from, if it was. */
    Optional<Path> fileOf(Bundle bundle) {
        return FrameworkBundleAdmin.sourceFile(bundle).filter(f -> dir.equals(f.getParent()));
    }

    /** The problem, if any, of the deploy file a bundle comes from (e.g. a broken replacement). */
    String fileProblem(Bundle bundle) {
        return fileOf(bundle).map(f -> problems.message(fileCause(f))).orElse(null);
    }

    /**
     * The file for a new bundle: {@code <symbolic name>.jar}, or with its version when another file
     * already has that name (the symbolic name is valid by the OSGi grammar, so the name stays in the
     * folder).
     */
    Path fileFor(BundleJar jar) {
        for (String name : List.of(jar.symbolicName() + ".jar", jar.symbolicName() + "-" + jar.version() + ".jar")) {
            Path file = dir.resolve(name).normalize();
            if (!dir.equals(file.getParent())) {
                throw new IllegalArgumentException(name + " is not a file name inside the deploy folder");
            }
            if (!Files.exists(file)) {
                return file;
            }
        }
        throw new BundleOperationException(CONFLICT, "the deploy folder already has files named " + jar.symbolicName()
                + ".jar and " + jar.symbolicName() + "-" + jar.version() + ".jar; remove the one that is not a bundle");
    }

    /**
     * Writes a deploy file in one step (a temporary file that the watcher ignores, then moved in
     * place), so that the folder never holds half a jar.
     */
    void write(Path file, byte[] bytes) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".upload-", ".part");
            try {
                Files.write(tmp, bytes);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new BundleOperationException(FAILED, "cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static Stamp stampOf(Path file) {
        try {
            return Stamp.of(file);
        } catch (IOException e) {
            throw new BundleOperationException(FAILED, "cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** The folder's jars, hidden files (an editor's, an upload in progress) left out. */
    private List<Path> jars() throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> {
                String name = f.getFileName().toString();
                return name.endsWith(".jar") && !name.startsWith(".") && !Files.isDirectory(f);
            }).map(f -> f.toAbsolutePath().normalize()).sorted().toList();
        }
    }

    static String location(Path file) {
        return file.toUri().toString();
    }

    private static String fileCause(Path file) {
        return "file " + file;
    }

}
