package io.gradus.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.event.BundleChanged;
import io.gradus.api.event.EventHub;
import io.gradus.api.event.JobMessage;
import io.gradus.api.event.JobStateChanged;
import io.gradus.api.event.JobSteered;
import io.gradus.api.event.Problem;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobHistory;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobService;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.core.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.osgi.framework.Version;
import org.osgi.framework.VersionRange;

/**
 * The host's {@link JobService}: a FIFO queue served by a fixed number of worker threads (one by
 * default), job records kept in the host's state folder, and the pins the running jobs hold on the
 * bundles they use ({@link BundlePins}). See docs/DESIGN.md, "Jobs live in the host".
 */
public final class HostJobService implements JobService, BundlePins, AutoCloseable {

    /** How long a job that rewires waits for the updated bundle to come back. */
    private static final Duration REWIRE_WAIT = Duration.ofSeconds(60);
    /** How often a running job's record is written between state changes. */
    private static final Duration SAVE_EVERY = Duration.ofSeconds(10);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TechniqueCatalog catalog;
    private final EventHub events;
    private final Supplier<KernelBackend> kernels;
    private final Path defaultModel;
    private final Duration applyTimeout;
    private final Path workingDir;
    private final Path jobsDir;
    private final JobStore store;
    private final ExecutorService workers;
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final AtomicLong lastId = new AtomicLong();
    /** Set when the host stops: nothing new starts, queued jobs stay queued (interrupted at the next start). */
    private volatile boolean closing;

    /**
     * @param jobsDir where the job records are kept (the host's {@code var/jobs})
     * @param kernels the kernel backend for each job (asked once per run)
     * @param defaultModel the model of jobs that name none (the built-in model)
     * @param concurrency jobs that train at the same time
     */
    public HostJobService(Path jobsDir, TechniqueCatalog catalog, EventHub events, Supplier<KernelBackend> kernels,
            Path defaultModel, int concurrency) {
        this(jobsDir, catalog, events, kernels, defaultModel, concurrency, TechniqueFaults.configuredApplyTimeout());
    }

    /**
     * @param applyTimeout how long a tuner's {@code apply} may take: a technique that does not return
     *     by then fails its job (naming its bundle and version) and frees the job's worker
     */
    public HostJobService(Path jobsDir, TechniqueCatalog catalog, EventHub events, Supplier<KernelBackend> kernels,
            Path defaultModel, int concurrency, Duration applyTimeout) {
        if (!applyTimeout.isPositive()) {
            throw new IllegalArgumentException("the apply timeout must be positive, was " + applyTimeout);
        }
        if (concurrency < 1) {
            throw new IllegalArgumentException("job concurrency must be at least 1, was " + concurrency);
        }
        this.catalog = catalog;
        this.events = events;
        this.kernels = kernels;
        this.defaultModel = defaultModel;
        this.applyTimeout = applyTimeout;
        this.workingDir = Path.of("").toAbsolutePath();
        this.jobsDir = jobsDir;
        this.store = new JobStore(jobsDir);
        this.workers = Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "gradus-job");
            t.setDaemon(true);
            // Jobs are submitted from any thread (a console worker has its bundle's loader as context
            // loader); the engine's libraries look resources up through the context loader.
            t.setContextClassLoader(HostJobService.class.getClassLoader());
            return t;
        });
        for (JobStore.Stored stored : store.load(text -> events.publish(new Problem(Instant.now(), "job records", text)))) {
            Job job = new Job(stored.info(), stored.options());
            if (!job.info.state().finished()) {
                // The host went away while the job was queued or running: nothing restarts by itself.
                job.update(JobState.INTERRUPTED, "the host stopped while the job was " + job.info.state().name().toLowerCase()
                        + "; resume it to continue from its last checkpoint");
                store.save(job.stored());
            }
            jobs.put(job.info.id(), job);
            lastId.accumulateAndGet(JobStore.idNumber(job.info.id(), 0), Math::max);
        }
    }

    @Override
    public JobSpec read(String text, String source) {
        return JobFiles.read(text, source);
    }

    @Override
    public JobInfo submit(JobSpec spec, SubmitOptions options) {
        refuseWhileClosing();
        Path base = baseDir(options);
        String id = Long.toString(lastId.incrementAndGet());
        // Without an output the job writes next to its job file (runs/NAME), or, submitted without a
        // folder of its own (the console's form), into the host's state folder.
        JobSpec resolved = JobFiles.resolve(spec, base, options.baseDir() != null ? base.resolve("runs").resolve(spec.name())
                : jobsDir.resolve(id).resolve("output"));
        String output = resolved.output();
        if (resolved.adapter() != null) {
            // The tuner and its settings are the saved adapter's; a tuner the job names must agree.
            resolved = StartingAdapter.resolve(resolved, catalog);
        }
        // What can be refused now is refused now, not after the job waited in the queue.
        var techniques = JobRun.resolve(catalog, resolved);
        for (String file : new String[] {resolved.data().train(), resolved.data().eval()}) {
            if (file != null && !Files.isRegularFile(Path.of(file))) {
                throw new JobException(JobException.Reason.INVALID, "data file " + file + " does not exist");
            }
        }
        JobRun.checkOutput(resolved, options);
        synchronized (jobs) {
            for (Job other : jobs.values()) {
                if (!other.info.state().finished() && other.info.output().equals(output)) {
                    throw new JobException(JobException.Reason.CONFLICT, "job " + other.info.id() + " (" + other.info.name()
                            + ") already writes to " + output + "; wait for it or choose another output");
                }
            }
            Job job = new Job(new JobInfo(id, resolved.name(), JobState.QUEUED, "waiting for a free slot", resolved, output,
                    null, 0, resolved.hyper().steps(), null, null, techniques.descriptors(), Instant.now(), null, null),
                    new SubmitOptions(base.toString(), options.resume(), options.overwrite(), options.allowChanges()));
            jobs.put(id, job);
            store.save(job.stored());
            publishState(job);
            job.future = workers.submit(() -> execute(job));
            return job.info;
        }
    }

    /** The folder relative paths resolve against: absolute, a real path. */
    private Path baseDir(SubmitOptions options) {
        if (options.baseDir() == null) {
            return workingDir;
        }
        try {
            Path base = Path.of(options.baseDir());
            if (!base.isAbsolute()) {
                throw new JobException(JobException.Reason.INVALID, "the base folder must be an absolute path, was '"
                        + options.baseDir() + "'");
            }
            return base.normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new JobException(JobException.Reason.INVALID, "the base folder '" + options.baseDir()
                    + "' is not a path: " + e.getReason(), e);
        }
    }

    private void refuseWhileClosing() {
        if (closing) {
            throw new JobException(JobException.Reason.CONFLICT, "the host is stopping; submit the job to it once it runs again");
        }
    }

    @Override
    public List<JobInfo> jobs() {
        synchronized (jobs) {
            return jobs.values().stream().map(j -> j.info).toList();
        }
    }

    @Override
    public Optional<JobInfo> job(String id) {
        synchronized (jobs) {
            return Optional.ofNullable(jobs.get(id)).map(j -> j.info);
        }
    }

    @Override
    public JobInfo cancel(String id) {
        Job job = existing(id);
        synchronized (job) {
            switch (job.info.state()) {
                case QUEUED -> {
                    job.future.cancel(false);
                    job.update(JobState.CANCELLED, "cancelled before it started");
                    save(job);
                    publishState(job);
                }
                case RUNNING -> {
                    job.stopAs = JobState.CANCELLED;
                    job.stopMessage = "cancelled; resume it to continue from its last checkpoint";
                    if (job.run != null) {
                        job.run.requestStop();
                    }
                    job.message("cancelling: writing a checkpoint");
                }
                default -> throw new JobException(JobException.Reason.CONFLICT, "job " + id + " has already "
                        + job.info.state().name().toLowerCase() + "; there is nothing to cancel");
            }
            return job.info;
        }
    }

    @Override
    public JobInfo resume(String id) {
        refuseWhileClosing();
        Job job = existing(id);
        synchronized (job) {
            JobState state = job.info.state();
            if (state != JobState.CANCELLED && state != JobState.INTERRUPTED && state != JobState.FAILED) {
                throw new JobException(JobException.Reason.CONFLICT, "job " + id + " is " + state.name().toLowerCase()
                        + "; only a cancelled, interrupted or failed job can be resumed");
            }
            Path output = Path.of(job.info.output());
            boolean checkpointed = Files.isDirectory(output.resolve(OutputFolder.CHECKPOINT));
            job.options = new SubmitOptions(job.options.baseDir(), checkpointed, !checkpointed, false);
            job.stopAs = null;
            job.update(JobState.QUEUED, checkpointed ? "waiting to resume from its last checkpoint" : "waiting to start over");
            save(job);
            publishState(job);
            job.future = workers.submit(() -> execute(job));
            return job.info;
        }
    }

    @Override
    public JobHistory history(String id) {
        Path output = Path.of(existing(id).info.output());
        return new JobHistory(readJsonl(output.resolve(OutputFolder.METRICS)), readJsonl(output.resolve(OutputFolder.EVALS)));
    }

    @Override
    public JobInfo steer(String id, Map<String, Object> changes) {
        Job job = existing(id);
        synchronized (job) {
            if (job.info.state() != JobState.RUNNING || job.run == null) {
                throw new JobException(JobException.Reason.CONFLICT, "job " + id + " is " + job.info.state().name().toLowerCase()
                        + "; only a running job can be steered");
            }
            job.run.steer(changes);
            return job.info;
        }
    }

    // ---- bundle pins ----

    @Override
    public List<String> holders(long bundleId) {
        synchronized (jobs) {
            return jobs.values().stream().filter(j -> j.holds(bundleId))
                    .map(j -> "job " + j.info.id() + " (" + j.info.name() + ")").toList();
        }
    }

    /**
     * A job that follows updates ({@code onUpdate: rewire}) lets go for a new revision of its own
     * technique's bundle in its version range; for anything else (a bundle its technique is wired
     * to, a version outside its range) it keeps what it runs and the update waits for it to end.
     */
    @Override
    public void updatePending(long bundleId, String symbolicName, String version) {
        for (Job job : holdingJobs(bundleId)) {
            synchronized (job) {
                if (job.run == null) {
                    continue;
                }
                String waiting = symbolicName + " " + version;
                if (JobSpec.REWIRE.equals(job.info.spec().onUpdate()) && job.followsTo(symbolicName, version)) {
                    job.message("a new revision waits (" + waiting + "); checkpointing to rewire to it");
                    job.run.requestRewire();
                } else {
                    job.message("a new revision waits (" + waiting + "); this job keeps the revisions it runs until it ends");
                }
            }
        }
    }

    @Override
    public void evict(long bundleId, Duration timeout) {
        for (Job job : holdingJobs(bundleId)) {
            synchronized (job) {
                job.stopAs = JobState.INTERRUPTED;
                job.stopMessage = "interrupted: bundle " + bundleId + " it uses was stopped or removed by force; "
                        + "resume it to continue from its last checkpoint";
                if (job.run != null) {
                    job.run.requestStop();
                }
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!holders(bundleId).isEmpty() && System.nanoTime() < deadline) {
            sleep(50);
        }
    }

    private List<Job> holdingJobs(long bundleId) {
        synchronized (jobs) {
            return jobs.values().stream().filter(j -> j.holds(bundleId)).toList();
        }
    }

    /**
     * Stops the workers; running jobs write a checkpoint and are recorded as interrupted, queued
     * ones stay queued (shown interrupted at the next start), and nothing new is accepted.
     */
    @Override
    public void close() {
        closing = true;
        List<Job> running;
        synchronized (jobs) {
            running = jobs.values().stream().filter(j -> j.info.state() == JobState.RUNNING).toList();
        }
        for (Job job : running) {
            synchronized (job) {
                job.stopAs = JobState.INTERRUPTED;
                job.stopMessage = "the host stopped; resume it to continue from its last checkpoint";
                if (job.run != null) {
                    job.run.requestStop();
                }
            }
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(60, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- running a job ----

    private void execute(Job job) {
        JobSpec spec;
        SubmitOptions options;
        synchronized (job) {
            if (job.info.state() != JobState.QUEUED || closing) {
                return;
            }
            job.info = job.with(JobState.RUNNING, "preparing", null);
            spec = job.info.spec();
            options = job.options;
            save(job);
            publishState(job);
        }
        try {
            while (true) {
                JobRun run = new JobRun(job.info.id(), spec, options,
                        new JobRun.Context(catalog, events, kernels.get(), defaultModel, applyTimeout), new Reporter(job));
                synchronized (job) {
                    job.run = run;
                    if (job.stopAs != null) {
                        run.requestStop();
                    }
                }
                JobRun.Outcome outcome = run.run();
                if (outcome.ending() != JobRun.Ending.REWIRE) {
                    finish(job, outcome);
                    return;
                }
                awaitUpdate(job);
                options = new SubmitOptions(options.baseDir(), true, false, true);
            }
        } catch (IOException | RuntimeException | LinkageError e) {
            fail(job, e);
        } catch (Error e) {
            // Out of memory, a stack overflow...: the job fails with the reason, the host goes on.
            fail(job, e);
            throw e;
        }
    }

    private void finish(Job job, JobRun.Outcome outcome) {
        synchronized (job) {
            job.run = null;
            job.pinned = List.of();
            if (outcome.ending() == JobRun.Ending.STOPPED) {
                JobState state = job.stopAs == null ? JobState.INTERRUPTED : job.stopAs;
                job.info = job.with(state, job.stopMessage == null ? "stopped" : job.stopMessage, null);
            } else {
                String result = outcome.result() == null ? null : outcome.result().toString();
                String message = outcome.alreadyFinished() ? "already finished; nothing to resume" : "finished";
                job.info = job.with(JobState.SUCCEEDED, message + (result == null ? "" : "; result in " + result), result);
            }
            save(job);
            publishState(job);
        }
    }

    private void fail(Job job, Throwable e) {
        String message = e.getMessage() == null || e instanceof Error
                ? e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) : e.getMessage();
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            message = u.getMessage() + ": " + u.getCause().getMessage();
        }
        synchronized (job) {
            job.run = null;
            job.pinned = List.of();
            job.info = job.with(JobState.FAILED, message, null);
            save(job);
            publishState(job);
        }
    }

    /**
     * After a rewire checkpoint: lets go of the job's bundles and waits until one of them has been
     * updated and the job's techniques are registered again.
     */
    private void awaitUpdate(Job job) {
        Object signal = new Object();
        boolean[] updated = {false};
        List<Long> bundles = job.pinned;
        try (var subscription = events.subscribe(event -> {
            if (event instanceof BundleChanged b && bundles.contains(b.bundleId()) && b.change().equals("UPDATED")) {
                synchronized (signal) {
                    updated[0] = true;
                    signal.notifyAll();
                }
            }
        })) {
            // Subscribed first: the update may be applied the moment the pins are gone.
            job.releasePins();
            long deadline = System.nanoTime() + REWIRE_WAIT.toNanos();
            synchronized (signal) {
                while (!updated[0] && System.nanoTime() < deadline) {
                    signal.wait(100);
                }
            }
            JobSpec spec = job.info.spec();
            while (System.nanoTime() < deadline && (catalog.tuner(spec.tuner().name(), spec.tuner().version()).isEmpty()
                    || catalog.objective(spec.objective().name(), spec.objective().version()).isEmpty())) {
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Keeps the job's record up to date from its run, and passes the run's words on as events. */
    private final class Reporter implements JobRun.Listener {
        private final Job job;
        private long lastSave;

        Reporter(Job job) {
            this.job = job;
        }

        /** Pinned from here on: the job's technique objects come from these bundles' revisions. */
        @Override
        public void resolved(List<TechniqueDescriptor> techniques) {
            synchronized (job) {
                job.techniques = techniques;
                job.pinned = techniques.stream().map(TechniqueDescriptor::bundleId).distinct().toList();
            }
        }

        @Override
        public void started(List<TechniqueDescriptor> techniques, long step, long totalSteps) {
            synchronized (job) {
                job.info = new JobInfo(job.info.id(), job.info.name(), JobState.RUNNING, "training", job.info.spec(),
                        job.info.output(), null, step, totalSteps, job.info.loss(), null, techniques, job.info.submitted(),
                        job.info.started(), null);
                save(job);
                publishState(job);
            }
        }

        @Override
        public void step(Trainer.StepMetrics m) {
            synchronized (job) {
                job.info = new JobInfo(job.info.id(), job.info.name(), job.info.state(), job.info.message(), job.info.spec(),
                        job.info.output(), null, m.step(), m.totalSteps(), m.loss(), m.etaSeconds(), job.info.techniques(),
                        job.info.submitted(), job.info.started(), null);
                if (System.nanoTime() - lastSave > SAVE_EVERY.toNanos()) {
                    save(job);
                    lastSave = System.nanoTime();
                }
            }
        }

        @Override
        public void message(String text) {
            job.message(text);
        }

        @Override
        public void steered(long step, Map<String, Object> changes) {
            events.publish(new JobSteered(Instant.now(), job.info.id(), step, changes));
        }
    }

    /** A job's mutable state in this service; guarded by its own monitor. */
    private final class Job {
        volatile JobInfo info;
        SubmitOptions options;
        Future<?> future;
        JobRun run;
        volatile List<Long> pinned = List.of();
        /** The techniques the current run resolved (bundle, version). */
        volatile List<TechniqueDescriptor> techniques = List.of();
        /** Why a stop was asked for, and the message the job ends with. */
        JobState stopAs;
        String stopMessage;

        Job(JobInfo info, SubmitOptions options) {
            this.info = info;
            this.options = options;
        }

        boolean holds(long bundleId) {
            return info.state() == JobState.RUNNING && pinned.contains(bundleId);
        }

        /** Whether {@code version} of bundle {@code symbolicName} is one of this job's techniques, in its range. */
        boolean followsTo(String symbolicName, String version) {
            JobSpec spec = info.spec();
            for (TechniqueDescriptor t : techniques) {
                if (t.bundleSymbolicName().equals(symbolicName)) {
                    String range = t.family() == TechniqueFamily.TUNER ? spec.tuner().version() : spec.objective().version();
                    return range == null || VersionRange.valueOf(range).includes(Version.valueOf(version));
                }
            }
            return false;
        }

        void releasePins() {
            pinned = List.of();
        }

        void message(String text) {
            events.publish(new JobMessage(Instant.now(), info.id(), text));
        }

        JobStore.Stored stored() {
            return new JobStore.Stored(info, options);
        }

        void update(JobState state, String message) {
            info = with(state, message, info.result());
        }

        /** The record in another state: a job entering RUNNING is stamped started, one that stops finished. */
        JobInfo with(JobState state, String message, String result) {
            boolean starts = state == JobState.RUNNING && info.state() != JobState.RUNNING;
            Instant started = starts ? Instant.now() : info.started();
            Instant finished = state.finished() ? Instant.now() : null;
            return new JobInfo(info.id(), info.name(), state, message, info.spec(), info.output(), result, info.step(),
                    info.totalSteps(), info.loss(), state == JobState.RUNNING ? info.etaSeconds() : null, info.techniques(),
                    info.submitted(), started, finished);
        }
    }

    private void save(Job job) {
        store.save(job.stored());
    }

    private void publishState(Job job) {
        events.publish(new JobStateChanged(Instant.now(), job.info.id(), job.info.state().name(), job.info.message()));
    }

    private Job existing(String id) {
        synchronized (jobs) {
            Job job = jobs.get(id);
            if (job == null) {
                throw new JobException(JobException.Reason.NOT_FOUND, "there is no job with id " + id);
            }
            return job;
        }
    }

    private static List<Map<String, Object>> readJsonl(Path file) {
        List<Map<String, Object>> lines = new ArrayList<>();
        if (!Files.isRegularFile(file)) {
            return lines;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    try {
                        lines.add(JSON.readValue(line, new TypeReference<Map<String, Object>>() {}));
                    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                        // A line torn by a power loss or a kill mid-write: what it held is lost, the rest stands.
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return lines;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
