package io.gradus.host;

import static io.gradus.api.runtime.BundleOperationException.Reason.CONFLICT;
import static io.gradus.api.runtime.BundleOperationException.Reason.FAILED;
import static io.gradus.api.runtime.BundleOperationException.Reason.INVALID;
import static io.gradus.api.runtime.BundleOperationException.Reason.NOT_FOUND;

import io.gradus.api.runtime.BundleAdmin;
import io.gradus.api.runtime.BundleInfo;
import io.gradus.api.runtime.BundleOperationException;
import io.gradus.api.technique.TechniqueCatalog;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.Version;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * {@link BundleAdmin} over the running framework.
 *
 * <p>Bundles that live in the watched deploy folder are operated through the folder (FileInstall
 * then does the install, update or uninstall), so the folder stays the single source of truth and
 * nothing an operator did is lost on restart. Other bundles are operated on directly.
 */
final class FrameworkBundleAdmin implements BundleAdmin {

    /** How long to wait for the deploy-folder watcher to act on a file we wrote. */
    private static final Duration DEPLOY_TIMEOUT = Duration.ofSeconds(20);

    private final BundleContext context;
    private final Path deployDir;
    private final TechniqueCatalog catalog;

    FrameworkBundleAdmin(BundleContext context, Path deployDir, TechniqueCatalog catalog) {
        this.context = context;
        this.deployDir = deployDir.toAbsolutePath().normalize();
        this.catalog = catalog;
    }

    @Override
    public List<BundleInfo> bundles() {
        return Arrays.stream(context.getBundles()).map(this::info).toList();
    }

    @Override
    public Optional<BundleInfo> bundle(long id) {
        return Optional.ofNullable(context.getBundle(id)).map(this::info);
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
                BundleDiagnosis.explain(bundle, wiring()));
    }

    @Override
    public BundleInfo install(InputStream jar) {
        byte[] bytes = readAll(jar);
        JarIdentity identity = JarIdentity.of(bytes);
        for (Bundle b : context.getBundles()) {
            if (identity.symbolicName().equals(b.getSymbolicName()) && identity.version().equals(b.getVersion())) {
                throw new BundleOperationException(CONFLICT, identity + " is already installed as bundle "
                        + b.getBundleId() + "; update that bundle instead");
            }
        }
        Path target = deployDir.resolve(identity.symbolicName() + ".jar");
        if (Files.exists(target)) {
            target = deployDir.resolve(identity.symbolicName() + "-" + identity.version() + ".jar");
        }
        writeAtomically(target, bytes);
        Path file = target;
        Bundle installed = await(() -> bundleFromFile(file), "install " + identity + " from " + file);
        awaitSettled(installed);
        return checkedStarted(installed);
    }

    @Override
    public BundleInfo start(long id) {
        Bundle bundle = existing(id);
        try {
            bundle.start();
        } catch (BundleException e) {
            throw startFailure(bundle, e);
        }
        return info(bundle);
    }

    @Override
    public BundleInfo stop(long id) {
        Bundle bundle = mutable(id);
        try {
            bundle.stop();
        } catch (BundleException e) {
            throw new BundleOperationException(FAILED, "stopping " + describe(bundle) + " failed: " + e.getMessage(), e);
        }
        return info(bundle);
    }

    @Override
    public BundleInfo update(long id, InputStream jar) {
        Bundle bundle = mutable(id);
        if (jar == null) {
            try {
                bundle.update();
            } catch (BundleException e) {
                throw new BundleOperationException(FAILED, "updating " + describe(bundle) + " failed: " + e.getMessage(), e);
            }
            return checkedStarted(bundle);
        }
        byte[] bytes = readAll(jar);
        JarIdentity identity = JarIdentity.of(bytes);
        if (!identity.symbolicName().equals(bundle.getSymbolicName())) {
            throw new BundleOperationException(INVALID, "the jar is " + identity + ", not a version of "
                    + bundle.getSymbolicName() + "; install it as a new bundle instead");
        }
        Optional<Path> file = deployFile(bundle);
        if (file.isPresent()) {
            long before = bundle.getLastModified();
            writeAtomically(file.get(), bytes);
            await(() -> bundle.getLastModified() != before || bundle.getState() == Bundle.UNINSTALLED ? bundle : null,
                    "update " + describe(bundle) + " from " + file.get());
            awaitSettled(bundle);
        } else {
            try {
                bundle.update(new ByteArrayInputStream(bytes));
                bundle.start();
            } catch (BundleException e) {
                throw startFailure(bundle, e);
            }
        }
        return checkedStarted(bundle);
    }

    @Override
    public void uninstall(long id) {
        Bundle bundle = mutable(id);
        Optional<Path> file = deployFile(bundle);
        if (file.isPresent()) {
            try {
                Files.deleteIfExists(file.get());
            } catch (IOException e) {
                throw new BundleOperationException(FAILED, "cannot delete " + file.get() + ": " + e.getMessage(), e);
            }
            await(() -> bundle.getState() == Bundle.UNINSTALLED ? bundle : null, "uninstall " + describe(bundle));
        } else {
            try {
                bundle.uninstall();
            } catch (BundleException e) {
                throw new BundleOperationException(FAILED, "uninstalling " + describe(bundle) + " failed: " + e.getMessage(), e);
            }
        }
    }

    /** The deploy-folder file a bundle was installed from, if it was. */
    Optional<Path> deployFile(Bundle bundle) {
        String location = bundle.getLocation();
        if (!location.startsWith("file:")) {
            return Optional.empty();
        }
        try {
            Path path = Path.of(URI.create(location)).toAbsolutePath().normalize();
            return deployDir.equals(path.getParent()) ? Optional.of(path) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private Bundle bundleFromFile(Path file) {
        for (Bundle b : context.getBundles()) {
            if (deployFile(b).filter(file::equals).isPresent()) {
                return b;
            }
        }
        return null;
    }

    /**
     * Waits until the watcher has resolved the bundle, or until it is clear that it cannot resolve
     * (a mandatory requirement has no provider at all).
     */
    private void awaitSettled(Bundle bundle) {
        await(() -> bundle.getState() != Bundle.INSTALLED || isFragment(bundle) || cannotResolve(bundle) ? bundle : null,
                "resolve " + describe(bundle));
    }

    private boolean cannotResolve(Bundle bundle) {
        String why = BundleDiagnosis.explain(bundle, wiring());
        return why != null && why.startsWith(BundleDiagnosis.CANNOT_RESOLVE);
    }

    private BundleInfo checkedStarted(Bundle bundle) {
        if (bundle.getState() != Bundle.ACTIVE && !isFragment(bundle)) {
            try {
                bundle.start();
            } catch (BundleException e) {
                throw startFailure(bundle, e);
            }
        }
        return info(bundle);
    }

    private BundleOperationException startFailure(Bundle bundle, BundleException e) {
        String why = BundleDiagnosis.explain(bundle, wiring());
        return new BundleOperationException(FAILED, describe(bundle) + " is installed but does not start: "
                + (why != null ? why : e.getMessage()), e);
    }

    private <T> T await(Supplier<T> condition, String what) {
        long deadline = System.nanoTime() + DEPLOY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            T value = condition.get();
            if (value != null) {
                return value;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BundleOperationException(FAILED, "interrupted while waiting to " + what, e);
            }
        }
        throw new BundleOperationException(FAILED, "the deploy folder watcher did not " + what + " within "
                + DEPLOY_TIMEOUT.toSeconds() + " s; see the host's log for the reason");
    }

    private Bundle existing(long id) {
        Bundle bundle = context.getBundle(id);
        if (bundle == null) {
            throw new BundleOperationException(NOT_FOUND, "there is no bundle with id " + id);
        }
        return bundle;
    }

    private Bundle mutable(long id) {
        Bundle bundle = existing(id);
        if (id == Constants.SYSTEM_BUNDLE_ID) {
            throw new BundleOperationException(CONFLICT, "bundle 0 is the OSGi framework itself; stop the host instead");
        }
        return bundle;
    }

    private FrameworkWiring wiring() {
        return context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION).adapt(FrameworkWiring.class);
    }

    private void writeAtomically(Path target, byte[] bytes) {
        try {
            Files.createDirectories(deployDir);
            // The temporary name does not end in .jar, so the watcher ignores it until the move.
            Path tmp = Files.createTempFile(deployDir, ".upload-", ".part");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target, e);
        }
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BundleOperationException(INVALID, "could not read the jar: " + e.getMessage(), e);
        }
    }

    private static boolean isFragment(Bundle bundle) {
        return bundle.getHeaders("").get(Constants.FRAGMENT_HOST) != null;
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

    /** Symbolic name and version read from a jar's manifest, with clear errors for what is not a bundle. */
    record JarIdentity(String symbolicName, Version version) {

        static JarIdentity of(byte[] bytes) {
            Manifest manifest;
            try (JarInputStream jar = new JarInputStream(new ByteArrayInputStream(bytes))) {
                manifest = jar.getManifest();
                if (manifest == null && jar.getNextJarEntry() == null) {
                    throw new BundleOperationException(INVALID, "not a jar file (no zip entries could be read)");
                }
            } catch (IOException e) {
                throw new BundleOperationException(INVALID, "not a valid jar file: " + e.getMessage(), e);
            }
            if (manifest == null) {
                throw new BundleOperationException(INVALID, "the jar has no META-INF/MANIFEST.MF, so it is not an OSGi bundle");
            }
            String bsn = manifest.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
            if (bsn == null || bsn.isBlank()) {
                throw new BundleOperationException(INVALID,
                        "the jar's manifest has no Bundle-SymbolicName, so it is not an OSGi bundle");
            }
            String versionText = manifest.getMainAttributes().getValue(Constants.BUNDLE_VERSION);
            Version version;
            try {
                version = versionText == null ? Version.emptyVersion : Version.parseVersion(versionText.trim());
            } catch (IllegalArgumentException e) {
                throw new BundleOperationException(INVALID, "the jar's Bundle-Version '" + versionText + "' is not a valid OSGi version", e);
            }
            return new JarIdentity(bsn.split(";", 2)[0].trim(), version);
        }

        @Override
        public String toString() {
            return symbolicName + " " + version;
        }
    }
}
