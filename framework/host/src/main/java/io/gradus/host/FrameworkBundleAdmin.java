package io.gradus.host;

import static io.gradus.api.runtime.BundleOperationException.Reason.CONFLICT;
import static io.gradus.api.runtime.BundleOperationException.Reason.FAILED;
import static io.gradus.api.runtime.BundleOperationException.Reason.INVALID;
import static io.gradus.api.runtime.BundleOperationException.Reason.NOT_FOUND;

import io.gradus.api.event.Problem;
import io.gradus.api.runtime.BundleAdmin;
import io.gradus.api.runtime.BundleDetails;
import io.gradus.api.runtime.BundleInfo;
import io.gradus.api.runtime.BundleOperationException;
import io.gradus.api.technique.TechniqueCatalog;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;

/**
 * {@link BundleAdmin} over the running framework.
 *
 * <p>Every operation runs on the host's bundle-operations thread, one at a time with the deploy
 * folder's polls. Bundles that live in the deploy folder are operated through the folder on that
 * thread (the file is written, overwritten or deleted, and the watcher acts on it at once), so the
 * folder stays the single source of truth and nothing an operator did is lost on restart. Other
 * bundles are operated on directly. Guarded bundles (the host's own) and bundles that running jobs
 * pin are refused unless forced.
 */
final class FrameworkBundleAdmin implements BundleAdmin {

    /** How long a forced operation waits for the jobs holding a bundle to checkpoint and stop. */
    private static final Duration EVICT_TIMEOUT = Duration.ofSeconds(60);

    private final BundleContext context;
    private final Path systemDir;
    private final TechniqueCatalog catalog;
    private final BundleOperations operations;
    private final BundleChanges changes;
    private final DeployFolderWatcher folder;
    private final HostProblems problems;

    FrameworkBundleAdmin(BundleContext context, Path systemDir, TechniqueCatalog catalog, BundleOperations operations,
            BundleChanges changes, DeployFolderWatcher folder, HostProblems problems) {
        this.context = context;
        this.systemDir = systemDir.toAbsolutePath().normalize();
        this.catalog = catalog;
        this.operations = operations;
        this.changes = changes;
        this.folder = folder;
        this.problems = problems;
    }

    @Override
    public List<BundleInfo> bundles() {
        return Arrays.stream(context.getBundles()).map(this::info).toList();
    }

    @Override
    public Optional<BundleInfo> bundle(long id) {
        return Optional.ofNullable(context.getBundle(id)).map(this::info);
    }

    @Override
    public Optional<BundleDetails> details(long id) {
        return Optional.ofNullable(context.getBundle(id)).map(b -> BundleWiringView.of(b, info(b)));
    }

    @Override
    public List<Problem> problems() {
        return problems.list();
    }

    private BundleInfo info(Bundle bundle) {
        long id = bundle.getBundleId();
        return new BundleInfo(
                id,
                bundle.getSymbolicName(),
                bundle.getVersion().toString(),
                stateName(bundle.getState()),
                bundle.getLocation(),
                catalog.techniques().stream().filter(t -> t.bundleId() == id).toList(),
                problem(bundle),
                guarded(bundle),
                changes.holders(id),
                changes.pending(id));
    }

    /** What is wrong with a bundle: its deploy file's problem, then why it does not run. */
    private String problem(Bundle bundle) {
        List<String> parts = new ArrayList<>();
        String file = folder.fileProblem(bundle);
        if (file != null) {
            parts.add(file);
        }
        if (bundle.getState() != Bundle.ACTIVE && !BundleChanges.isFragment(bundle)) {
            String start = problems.message(BundleChanges.startCause(bundle.getBundleId()));
            String why = start != null ? start : BundleDiagnosis.explain(bundle, changes.wiring());
            if (why != null) {
                parts.add(why);
            }
        }
        return parts.isEmpty() ? null : String.join("; ", parts);
    }

    /** The framework itself and the bundles of {@code system/}: the host's own. */
    private boolean guarded(Bundle bundle) {
        return bundle.getBundleId() == Constants.SYSTEM_BUNDLE_ID || sourceFile(bundle)
                .filter(f -> systemDir.equals(f.getParent()))
                .isPresent();
    }

    @Override
    public BundleInfo install(InputStream jar) {
        BundleJar bundleJar = BundleJar.of(BundleJar.readAll(jar));
        return operations.call(() -> {
            Bundle existing = folder.bundleNamed(bundleJar.symbolicName());
            if (existing != null) {
                throw new BundleOperationException(CONFLICT, describe(existing) + " is already installed; update that bundle"
                        + " instead of installing " + bundleJar);
            }
            Path file = folder.fileFor(bundleJar);
            folder.write(file, bundleJar.bytes());
            Bundle bundle;
            try {
                bundle = folder.installFrom(file, bundleJar);
            } catch (BundleException e) {
                Files.deleteIfExists(file);
                throw new BundleOperationException(INVALID, "the framework refused to install " + bundleJar + ": "
                        + BundleDiagnosis.reason(e), e);
            }
            return started(bundle, changes.start(bundle));
        });
    }

    @Override
    public BundleInfo start(long id) {
        return operations.call(() -> {
            Bundle bundle = existing(id);
            return started(bundle, changes.start(bundle));
        });
    }

    @Override
    public BundleInfo stop(long id, boolean force) {
        return operations.call(() -> {
            Bundle bundle = mutable(id, "stop", force);
            letGo(bundle, "stop", force);
            try {
                bundle.stop();
            } catch (BundleException e) {
                throw new BundleOperationException(FAILED, "stopping " + describe(bundle) + " failed: " + BundleDiagnosis.reason(e), e);
            }
            return info(bundle);
        });
    }

    @Override
    public BundleInfo update(long id, InputStream jar, boolean force) {
        BundleJar next = jar == null ? null : BundleJar.of(BundleJar.readAll(jar));
        return operations.call(() -> {
            Bundle bundle = mutable(id, "update", force);
            if (next != null && !next.symbolicName().equals(bundle.getSymbolicName())) {
                throw new BundleOperationException(INVALID, "the jar is " + next + ", not a version of "
                        + bundle.getSymbolicName() + "; install it as a new bundle instead");
            }
            if (force) {
                letGo(bundle, "update", true);
            }
            Optional<Path> file = folder.fileOf(bundle);
            String outcome;
            try {
                if (file.isPresent()) {
                    BundleJar revision = next != null ? next : fromFile(file.get());
                    if (next != null) {
                        folder.write(file.get(), next.bytes());
                    }
                    outcome = folder.updateFrom(file.get(), bundle, revision, force);
                } else {
                    outcome = changes.update(bundle, next, force);
                }
            } catch (BundleException e) {
                // The revision that runs goes back into the deploy file, so that a restart installs it, not the refused jar.
                Optional<BundleJar> running = changes.lastGood(bundle);
                if (next != null && file.isPresent() && running.isPresent()) {
                    folder.restore(file.get(), running.get());
                }
                throw new BundleOperationException(FAILED, "updating " + describe(bundle) + " failed: " + BundleDiagnosis.reason(e)
                        + (e instanceof BundleChanges.RevisionRefused ? "; it keeps running its last good revision" : ""), e);
            }
            return started(bundle, outcome == null || outcome.isEmpty() ? null : outcome);
        });
    }

    @Override
    public void uninstall(long id, boolean force) {
        operations.call(() -> {
            Bundle bundle = mutable(id, "remove", force);
            letGo(bundle, "remove", force);
            Optional<Path> file = folder.fileOf(bundle);
            try {
                if (file.isPresent()) {
                    Files.deleteIfExists(file.get());
                }
                changes.uninstall(bundle, true);
            } catch (IOException e) {
                throw new BundleOperationException(FAILED, "cannot delete " + file.get() + ": " + e.getMessage(), e);
            } catch (BundleException e) {
                throw new BundleOperationException(FAILED, "uninstalling " + describe(bundle) + " failed: " + BundleDiagnosis.reason(e), e);
            }
            // The file's bundle is gone: the watcher forgets the file (and its problem).
            file.ifPresent(f -> folder.removed(f, true));
            return null;
        });
    }

    /**
     * Makes sure no running job holds {@code bundle} before {@code operation}: refused while one
     * does, unless forced; forced, the holders are asked to checkpoint and stop first.
     */
    private void letGo(Bundle bundle, String operation, boolean force) {
        List<String> holders = changes.holds().holders(bundle);
        if (holders.isEmpty()) {
            return;
        }
        if (!force) {
            throw new BundleOperationException(CONFLICT, describe(bundle) + " is used by " + String.join(", ", holders)
                    + "; " + operation + " it with force to interrupt " + (holders.size() == 1 ? "that job" : "those jobs")
                    + " (they checkpoint, stop as interrupted and can be resumed)");
        }
        changes.holds().evict(bundle, EVICT_TIMEOUT);
    }

    private BundleJar fromFile(Path file) {
        try {
            return BundleJar.of(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new BundleOperationException(FAILED, "cannot read " + file + ": " + e.getMessage(), e);
        } catch (BundleOperationException e) {
            throw new BundleOperationException(INVALID, file + ": " + e.getMessage(), e);
        }
    }

    /** The bundle's info, or the reason it does not start as a failure (the bundle stays installed). */
    private BundleInfo started(Bundle bundle, String whyNot) {
        if (whyNot != null) {
            throw new BundleOperationException(FAILED, whyNot);
        }
        return info(bundle);
    }

    private Bundle existing(long id) {
        Bundle bundle = context.getBundle(id);
        if (bundle == null) {
            throw new BundleOperationException(NOT_FOUND, "there is no bundle with id " + id);
        }
        return bundle;
    }

    /** A bundle that {@code operation} may change: never the framework; a guarded one only forced. */
    private Bundle mutable(long id, String operation, boolean force) {
        Bundle bundle = existing(id);
        if (id == Constants.SYSTEM_BUNDLE_ID) {
            throw new BundleOperationException(CONFLICT, "bundle 0 is the OSGi framework itself; stop the host instead");
        }
        if (guarded(bundle) && !force) {
            throw new BundleOperationException(CONFLICT, describe(bundle) + " is one of the host's own bundles (from "
                    + systemDir + "); " + operation + " it only with force: the host, its console included, may not work"
                    + " without it");
        }
        return bundle;
    }

    /** The file a bundle was installed from, if it was installed from a file. */
    static Optional<Path> sourceFile(Bundle bundle) {
        String location = bundle.getLocation();
        if (!location.startsWith("file:")) {
            return Optional.empty();
        }
        try {
            return Optional.of(Path.of(URI.create(location)).toAbsolutePath().normalize());
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    static String describe(Bundle bundle) {
        return bundle.getSymbolicName() + " " + bundle.getVersion() + " [" + bundle.getBundleId() + "]";
    }

    static String stateName(int state) {
        return switch (state) {
            case Bundle.INSTALLED -> "INSTALLED";
            case Bundle.RESOLVED -> "RESOLVED";
            case Bundle.STARTING -> "STARTING";
            case Bundle.STOPPING -> "STOPPING";
            case Bundle.ACTIVE -> "ACTIVE";
            case Bundle.UNINSTALLED -> "UNINSTALLED";
            default -> "UNKNOWN(" + state + ")";
        };
    }
}
