package io.gradus.api.job;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Runs training jobs inside the host: a queue served one job at a time by default, each job in its
 * own output folder, its state kept across restarts of the host. Provided by the host as a service;
 * the command line and the console are its clients. Every failure is a {@link JobException} whose
 * message names what is wrong.
 */
@ProviderType
public interface JobService {

    /**
     * Reads a job file's text (JSON or YAML) into a spec.
     *
     * @param source what the text is, for error messages (a file name, "request body")
     * @throws JobException (INVALID) naming the line and field of what is wrong
     */
    JobSpec read(String text, String source);

    /**
     * Queues a job. Its tuner and objective must be installed (the error lists what is), its data
     * files must exist, and its output folder must not hold another run unless
     * {@link SubmitOptions#overwrite} or {@link SubmitOptions#resume} says what to do with it.
     */
    JobInfo submit(JobSpec spec, SubmitOptions options);

    /** Every job this host knows, oldest first. */
    List<JobInfo> jobs();

    /** One job. */
    Optional<JobInfo> job(String id);

    /**
     * Stops a queued or running job; a running one first writes a checkpoint, so it can be resumed.
     *
     * @throws JobException NOT_FOUND, or CONFLICT if the job has already finished
     */
    JobInfo cancel(String id);

    /**
     * Queues a cancelled, interrupted or failed job again; it continues from its last checkpoint
     * (or starts over if it has none).
     */
    JobInfo resume(String id);

    /** The job's recorded metrics and held-out evaluations. */
    JobHistory history(String id);

    /**
     * Changes settings of a running job from its next step on: {@code learningRate} (the peak of the
     * schedule), {@code learningRateScale} (multiplies the scheduled rate), and under
     * {@code objective} the settings its objective marks as live. Each change is recorded, so a
     * resumed run replays it at the same step.
     *
     * @throws JobException INVALID naming a setting that cannot change, CONFLICT if the job is not running
     */
    JobInfo steer(String id, Map<String, Object> changes);
}
