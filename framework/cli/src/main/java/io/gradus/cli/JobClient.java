package io.gradus.cli;

import io.gradus.api.event.GradusEvent;
import io.gradus.api.job.JobHistory;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.SubmitOptions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The job service as the command line reaches it: the running host's, over its console API
 * ({@link RemoteJobs}), or an embedded host's when none runs ({@link LocalJobs}). One interface, so
 * that {@code train}, {@code pretrain}, {@code demo} and {@code jobs} behave the same either way.
 */
interface JobClient extends AutoCloseable {

    /**
     * The running host's job service when there is one, else a host embedded in this command.
     *
     * @param kernelBackend the backend an embedded host runs jobs on (a running host keeps its own)
     */
    static JobClient connect(String kernelBackend) throws Exception {
        Optional<HostConnection> running = HostConnection.find(Distribution.settings().stateDir());
        if (running.isPresent()) {
            return new RemoteJobs(running.get());
        }
        return new LocalJobs(new EmbeddedHost(kernelBackend), true);
    }

    /**
     * The running host's job service when there is one, else {@code embedded}'s, for commands that
     * run models themselves beside their jobs (evaluations before and after); closing the client
     * leaves {@code embedded} running.
     */
    static JobClient runningOr(EmbeddedHost embedded) {
        return HostConnection.find(Distribution.settings().stateDir())
                .<JobClient>map(RemoteJobs::new)
                .orElseGet(() -> new LocalJobs(embedded, false));
    }

    /** Where the jobs run, for people: "the running host at http://..." or "an embedded host". */
    String where();

    /** Whether the jobs run inside this process (they end with it). */
    boolean embedded();

    /** Sends the host's events to {@code listener} from now on, until the returned handle is closed. */
    AutoCloseable events(Consumer<GradusEvent> listener) throws Exception;

    /**
     * Submits a job file's text.
     *
     * @param source the file's name, for error messages
     */
    JobInfo submit(String text, String source, SubmitOptions options) throws Exception;

    List<JobInfo> jobs() throws Exception;

    Optional<JobInfo> job(String id) throws Exception;

    JobInfo cancel(String id) throws Exception;

    JobInfo resume(String id) throws Exception;

    JobInfo steer(String id, Map<String, Object> changes) throws Exception;

    JobHistory history(String id) throws Exception;

    /**
     * Ctrl-C: a host embedded in this command stops (its running job writes a checkpoint first), a
     * running host is left alone.
     */
    default void interrupt() throws Exception {}

    @Override
    void close() throws Exception;
}
