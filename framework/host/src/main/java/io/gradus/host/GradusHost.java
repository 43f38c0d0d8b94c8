package io.gradus.host;

import io.gradus.api.event.BundleChanged;
import io.gradus.api.event.EventHub;
import io.gradus.api.event.Problem;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.job.JobService;
import io.gradus.api.model.TensorFiles;
import io.gradus.api.runtime.BundleAdmin;
import io.gradus.api.technique.ConfigSchemas;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.jobs.BuiltInModel;
import io.gradus.jobs.BundlePins;
import io.gradus.jobs.HostGenerationService;
import io.gradus.jobs.HostJobService;
import io.gradus.jobs.RecordSchemas;
import io.gradus.jobs.SynchronousEventHub;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

/**
 * The Gradus host: an embedded Apache Felix framework with the runtime bundles of the
 * distribution, a watched deploy folder for technique bundles ({@link DeployFolderWatcher}), and
 * the host's own services ({@link EventHub}, {@link TechniqueCatalog}, {@link BundleAdmin},
 * {@link JobService}, {@link GenerationService}, {@link ConfigSchemas}) in its registry.
 *
 * <p>Nothing a bundle does can take the host down: install, resolve and start failures are caught,
 * explained (which bundle, which missing import) and kept as the host's current problems, each
 * also published as a {@link Problem} event.
 */
public final class GradusHost implements AutoCloseable {

    /** Framework property: the address the console binds to. */
    public static final String CONSOLE_HOST = "gradus.console.host";
    /** Framework property: the console's port (0 = any free port, -1 = no console). */
    public static final String CONSOLE_PORT = "gradus.console.port";
    /** Framework property: the token that authorises the console's mutating calls. */
    public static final String CONSOLE_TOKEN = "gradus.console.token";
    /** Framework property: the file that holds the console token, for the page to name. */
    public static final String CONSOLE_TOKEN_FILE = "gradus.console.token.file";
    /** Service property with which the console registers its base URI once it listens. */
    public static final String CONSOLE_URL_PROPERTY = "gradus.console.url";

    /** The most problems kept: the oldest goes first. */
    private static final int MAX_PROBLEMS = 500;

    private final HostSettings settings;
    private final Framework framework;
    private final SynchronousEventHub events = new SynchronousEventHub();
    private final HostProblems problems = new HostProblems(events, MAX_PROBLEMS);
    private final AtomicLong logged = new AtomicLong();
    /** A periodic task that failed is a problem under its own name, cleared by its next good run. */
    private final BundleOperations operations =
            new BundleOperations((task, message) -> problems.report(task, task, task + " " + message));
    private final RegistryTechniqueCatalog catalog;
    private final FrameworkBundleAdmin bundleAdmin;
    private final DeployFolderWatcher deployFolder;
    private final String consoleToken;
    private final FileChannel stateLock;
    private final HostJobService jobService;
    /** Felix keeps uninstalled bundles in its service-usage map: they are removed from it here. */
    private final StaleServiceUsages staleUsages;
    private KernelSelection.Choice kernelChoice;

    /** @param pinsOrNull the bundle pins to consult instead of the host's own job service's (tests) */
    private GradusHost(HostSettings settings, BundlePins pinsOrNull) throws BundleException, IOException {
        this.settings = settings;
        this.stateLock = lockStateDir(settings.stateDir());
        try {
            Files.createDirectories(settings.deployDir());
            this.consoleToken = settings.consolePort() >= 0 ? ConsoleToken.create(settings.stateDir()) : null;

            this.framework = newFramework();
            framework.init();
            this.staleUsages = StaleServiceUsages.of(framework);
            BundleContext context = framework.getBundleContext();
            context.addBundleListener(this::onBundleEvent);
            context.addFrameworkListener(this::onFrameworkEvent);
            if (consoleToken != null) {
                try {
                    context.addServiceListener(this::onConsoleService, "(" + CONSOLE_URL_PROPERTY + "=*)");
                } catch (InvalidSyntaxException e) {
                    throw new IllegalStateException(e);
                }
            }
            this.catalog = new RegistryTechniqueCatalog(context, events);
            this.jobService = new HostJobService(settings.stateDir().resolve("jobs"), catalog, events,
                    () -> kernels().backend(), BuiltInModel.modelFolder(), settings.jobConcurrency());
            BundlePins pins = pinsOrNull != null ? pinsOrNull : jobService;
            BundleChanges changes = new BundleChanges(context, pins, problems);
            this.deployFolder = new DeployFolderWatcher(settings.deployDir(), context, changes, problems);
            this.bundleAdmin = new FrameworkBundleAdmin(
                    context, settings.systemDir(), catalog, operations, changes, deployFolder, problems);
            context.registerService(EventHub.class, events, null);
            context.registerService(TechniqueCatalog.class, catalog, null);
            context.registerService(BundleAdmin.class, bundleAdmin, null);
            context.registerService(TensorFiles.class, new SafetensorsFiles(), null);
            context.registerService(JobService.class, jobService, null);
            context.registerService(GenerationService.class, new HostGenerationService(catalog, jobService,
                    () -> kernels().backend(), BuiltInModel.modelFolder()), null);
            context.registerService(ConfigSchemas.class, new RecordSchemas(), null);
            installSystemBundles(context);
            framework.start();
            BundleAwareSystemClassLoader.serve(context);
            operations.every(DeployFolderWatcher.POLL, DeployFolderWatcher.NAME, deployFolder::poll);
        } catch (IOException | BundleException | RuntimeException e) {
            operations.close();
            stateLock.close();
            throw e;
        }
    }

    /**
     * Boots the framework: installs and starts every bundle of {@code settings.systemDir()}, then
     * lets the deploy-folder watcher install the technique bundles. The bundles the host's running
     * jobs use are pinned: an update waits for them, a stop or removal is refused unless forced.
     *
     * @throws IOException if the folders cannot be read or created
     * @throws BundleException if the framework itself cannot start
     */
    public static GradusHost start(HostSettings settings) throws IOException, BundleException {
        return new GradusHost(settings, null);
    }

    /**
     * Like {@link #start(HostSettings)}, with other pins than the host's job service's: for tests that
     * play the part of running jobs.
     */
    public static GradusHost start(HostSettings settings, BundlePins pins) throws IOException, BundleException {
        return new GradusHost(settings, pins);
    }

    /**
     * Takes the state folder for this host alone: two hosts on one framework cache would delete each
     * other's bundles, and the second would overwrite the first's console token.
     */
    private static FileChannel lockStateDir(Path stateDir) throws IOException {
        Files.createDirectories(stateDir);
        Path lockFile = stateDir.resolve("host.lock");
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            channel.close();
            throw new IllegalStateException("another Gradus host is already running on " + stateDir.toAbsolutePath()
                    + " (it holds " + lockFile.getFileName() + "); stop it first, or use 'gradus bundles' to inspect it");
        }
        return channel;
    }

    private Map<String, String> frameworkProperties() {
        Map<String, String> p = new HashMap<>();
        p.put(Constants.FRAMEWORK_STORAGE, settings.stateDir().resolve("cache").toAbsolutePath().toString());
        // The distribution and the deploy folder define what is installed; no state survives a restart.
        p.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        p.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, SystemPackages.extraExports());
        p.put(CONSOLE_HOST, settings.consoleHost());
        p.put(CONSOLE_PORT, Integer.toString(settings.consolePort()));
        if (consoleToken != null) {
            p.put(CONSOLE_TOKEN, consoleToken);
            p.put(CONSOLE_TOKEN_FILE, consoleTokenFile().toAbsolutePath().toString());
        }
        return p;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Framework newFramework() {
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, GradusHost.class.getClassLoader())
                .findFirst()
                .orElseThrow(() -> new IllegalStateException(
                        "no OSGi framework on the class path (org.apache.felix.framework jar missing from lib/)"));
        // Felix takes a logger object among its (otherwise string) properties.
        Map properties = frameworkProperties();
        properties.put("felix.log.logger", new FelixLog(this::logged));
        return factory.newFramework(properties);
    }

    private void installSystemBundles(BundleContext context) throws IOException {
        List<Bundle> installed = new ArrayList<>();
        try (Stream<Path> jars = Files.list(settings.systemDir())) {
            for (Path jar : jars.filter(f -> f.toString().endsWith(".jar")).sorted().toList()) {
                try {
                    installed.add(context.installBundle(jar.toUri().toString()));
                } catch (BundleException e) {
                    problems.report("system " + jar, jar.toString(), jar + ": cannot install: " + BundleDiagnosis.reason(e));
                }
            }
        }
        for (Bundle bundle : installed) {
            if (bundle.getHeaders("").get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            try {
                // Marks the bundle for start; it starts (in dependency order) when the framework starts.
                bundle.start();
            } catch (BundleException e) {
                problems.report(BundleChanges.startCause(bundle.getBundleId()), FrameworkBundleAdmin.describe(bundle),
                        FrameworkBundleAdmin.describe(bundle) + " cannot start: " + BundleDiagnosis.reason(e));
            }
        }
    }

    private void onBundleEvent(BundleEvent event) {
        Bundle b = event.getBundle();
        switch (event.getType()) {
            case BundleEvent.STARTED -> {
                problems.clear(BundleChanges.startCause(b.getBundleId()));
                problems.clear(BundleChanges.bundleCause(b.getBundleId()) + "error");
            }
            case BundleEvent.UPDATED -> problems.clearAll(BundleChanges.bundleCause(b.getBundleId()));
            case BundleEvent.UNINSTALLED -> {
                problems.clearAll(BundleChanges.bundleCause(b.getBundleId()));
                staleUsages.forget(b);
            }
            default -> {}
        }
        events.publish(new BundleChanged(Instant.now(), b.getBundleId(), b.getSymbolicName(),
                b.getVersion().toString(), FrameworkBundleAdmin.stateName(b.getState()), bundleChange(event.getType())));
    }

    /** A framework error (a bundle that fails to start after an update, a listener that throws). */
    private void onFrameworkEvent(FrameworkEvent event) {
        if (event.getType() == FrameworkEvent.ERROR) {
            Throwable error = event.getThrowable();
            Bundle bundle = event.getBundle();
            String source = FrameworkBundleAdmin.describe(bundle);
            problems.report(BundleChanges.bundleCause(bundle.getBundleId()) + "error", source,
                    source + ": " + (error == null ? "framework error" : String.valueOf(error.getMessage())));
        }
    }

    /** Keeps {@code console.url} in the state folder in step with the console's endpoint. */
    private void onConsoleService(ServiceEvent event) {
        Path file = settings.stateDir().resolve(ConsoleToken.URL_FILE_NAME);
        try {
            if (event.getType() == ServiceEvent.REGISTERED) {
                ConsoleToken.writeUrl(settings.stateDir(), String.valueOf(event.getServiceReference().getProperty(CONSOLE_URL_PROPERTY)));
            } else if (event.getType() == ServiceEvent.UNREGISTERING) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            problem("console", "cannot write " + file + ": " + e.getMessage());
        }
    }

    /** A warning or error of the framework's log, kept until its bundle is updated or uninstalled. */
    private void logged(Bundle bundle, String message) {
        if (bundle == null) {
            problem("framework", message);
        } else {
            String source = FrameworkBundleAdmin.describe(bundle);
            problems.report(BundleChanges.bundleCause(bundle.getBundleId()) + "log " + logged.incrementAndGet(), source,
                    source + ": " + message);
        }
    }

    /** A problem with no cause that can be fixed later; it stays until newer problems push it out. */
    private void problem(String source, String message) {
        problems.report(source + " " + logged.incrementAndGet(), source, message);
    }

    private static String bundleChange(int type) {
        return switch (type) {
            case BundleEvent.INSTALLED -> "INSTALLED";
            case BundleEvent.RESOLVED -> "RESOLVED";
            case BundleEvent.STARTING -> "STARTING";
            case BundleEvent.STARTED -> "STARTED";
            case BundleEvent.STOPPING -> "STOPPING";
            case BundleEvent.STOPPED -> "STOPPED";
            case BundleEvent.UPDATED -> "UPDATED";
            case BundleEvent.UNRESOLVED -> "UNRESOLVED";
            case BundleEvent.UNINSTALLED -> "UNINSTALLED";
            case BundleEvent.LAZY_ACTIVATION -> "LAZY_ACTIVATION";
            default -> "UNKNOWN(" + type + ")";
        };
    }

    public HostSettings settings() {
        return settings;
    }

    /** The system bundle's context: full access to the framework. */
    public BundleContext context() {
        return framework.getBundleContext();
    }

    public EventHub events() {
        return events;
    }

    public TechniqueCatalog catalog() {
        return catalog;
    }

    public BundleAdmin bundleAdmin() {
        return bundleAdmin;
    }

    /** The job service: jobs run inside this host. */
    public JobService jobs() {
        return jobService;
    }

    /**
     * The kernel backend jobs run on, chosen once per host by {@link KernelSelection} from
     * {@link HostSettings#kernelBackend()}; the choice's line says which backend and why.
     *
     * @throws IllegalStateException if the backend asked for cannot run here
     */
    public synchronized KernelSelection.Choice kernels() {
        if (kernelChoice == null) {
            try {
                kernelChoice = KernelSelection.select(this, settings.kernelBackend());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while choosing the kernel backend", e);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
        return kernelChoice;
    }

    /**
     * The host's current problems, oldest first (at most 500): each stays until its cause is fixed,
     * as {@code GET /api/problems} shows them.
     */
    public List<Problem> problems() {
        return problems.list();
    }

    /** The console token, if a console was requested. */
    public Optional<String> consoleToken() {
        return Optional.ofNullable(consoleToken);
    }

    /** The file holding the console token. */
    public Path consoleTokenFile() {
        return settings.stateDir().resolve(ConsoleToken.FILE_NAME);
    }

    /**
     * Waits until the console listens and returns its base URI.
     *
     * @return empty if no console was requested or it did not come up within {@code timeout}
     */
    public Optional<URI> awaitConsole(Duration timeout) throws InterruptedException {
        if (settings.consolePort() < 0) {
            return Optional.empty();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            ServiceReference<?>[] refs;
            try {
                refs = context().getServiceReferences((String) null, "(" + CONSOLE_URL_PROPERTY + "=*)");
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
            if (refs != null && refs.length > 0) {
                return Optional.of(URI.create(String.valueOf(refs[0].getProperty(CONSOLE_URL_PROPERTY))));
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        return Optional.empty();
    }

    /**
     * Waits for a service registered under {@code type} that matches {@code filter} (or any, if null).
     *
     * @return the service, valid while its bundle runs, or empty on timeout
     */
    public <T> Optional<T> awaitService(Class<T> type, String filter, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            try {
                for (ServiceReference<T> ref : context().getServiceReferences(type, filter)) {
                    T service = context().getService(ref);
                    if (service != null) {
                        return Optional.of(service);
                    }
                }
            } catch (InvalidSyntaxException e) {
                throw new IllegalArgumentException("bad service filter " + filter, e);
            }
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        return Optional.empty();
    }

    /**
     * Waits until the deploy-folder watcher has dealt with every jar in the folder: installed it as
     * a bundle, or reported a problem about it (a poll that began after this call found nothing
     * left to do).
     *
     * @return true if it has, false on timeout
     */
    public boolean awaitDeployFolder(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        // Queued behind the poll in progress, if any: the next poll to finish began after this call.
        long before = operations.call(deployFolder::polls);
        do {
            if (deployFolder.polls() > before && deployFolder.upToDate()) {
                return true;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        return false;
    }

    /** Blocks until the framework has stopped (after {@link #close()} or a stop of bundle 0). */
    public void awaitStopped() throws InterruptedException {
        framework.waitForStop(0);
    }

    /** Stops every bundle and the framework. */
    @Override
    public void close() {
        try {
            jobService.close();
            BundleAwareSystemClassLoader.stopServing(framework.getBundleContext());
            operations.close();
            catalog.close();
            framework.stop();
            framework.waitForStop(30_000);
        } catch (BundleException e) {
            throw new IllegalStateException("the framework did not stop cleanly: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                stateLock.close();
            } catch (IOException e) {
                // Closing releases the lock; nothing more to do if the channel is already gone.
            }
        }
    }
}
