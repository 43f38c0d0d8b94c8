package io.gradus.cli;

import io.gradus.api.event.GradusEvent;
import io.gradus.api.job.JobHistory;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobService;
import io.gradus.api.job.SubmitOptions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** The job service of a host embedded in this command ({@link JobClient} when no host runs). */
final class LocalJobs implements JobClient {

    private final EmbeddedHost host;
    private final boolean ownsHost;
    private final JobService jobs;

    /** @param ownsHost whether closing this client stops the host */
    LocalJobs(EmbeddedHost host, boolean ownsHost) {
        this.host = host;
        this.ownsHost = ownsHost;
        this.jobs = host.host().jobs();
    }

    @Override
    public String where() {
        return "a host embedded in this command (no 'gradus start' host is running)";
    }

    @Override
    public boolean embedded() {
        return true;
    }

    @Override
    public AutoCloseable events(Consumer<GradusEvent> listener) {
        return host.host().events().subscribe(listener);
    }

    @Override
    public JobInfo submit(String text, String source, SubmitOptions options) {
        return jobs.submit(jobs.read(text, source), options);
    }

    @Override
    public List<JobInfo> jobs() {
        return jobs.jobs();
    }

    @Override
    public Optional<JobInfo> job(String id) {
        return jobs.job(id);
    }

    @Override
    public JobInfo cancel(String id) {
        return jobs.cancel(id);
    }

    @Override
    public JobInfo resume(String id) {
        return jobs.resume(id);
    }

    @Override
    public JobInfo steer(String id, Map<String, Object> changes) {
        return jobs.steer(id, changes);
    }

    @Override
    public JobHistory history(String id) {
        return jobs.history(id);
    }

    /** The embedded host stops, even one this client does not own: its job checkpoints on the way. */
    @Override
    public void interrupt() throws Exception {
        host.close();
    }

    @Override
    public void close() throws Exception {
        if (ownsHost) {
            host.close();
        }
    }
}
