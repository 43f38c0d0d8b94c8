package io.gradus.cli;

import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.kernel.KernelBackend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;

/**
 * One technique's demo on the built-in world, run by {@code gradus demo TECHNIQUE}: it measures the
 * model before, trains with the technique (as a job, on the running host when there is one), measures
 * after, and prints both; {@link DemoCommand} writes what it returns to {@code summary.json}.
 */
abstract class Demo {

    private final String technique;
    private final String description;

    /**
     * @param technique the technique's name, as {@code gradus demo} takes it
     * @param description one line for {@code gradus demo --help}
     */
    Demo(String technique, String description) {
        this.technique = technique;
        this.description = description;
    }

    final String technique() {
        return technique;
    }

    final String description() {
        return description;
    }

    /** Runs the demo, printing as it goes. */
    abstract Summary run(Context context) throws Exception;

    /**
     * {@code job}, finished, when it succeeded.
     *
     * @throws IllegalStateException naming the job, how it ended and its message, when it did not succeed
     */
    static JobInfo succeeded(JobInfo job) {
        if (job.state() != JobState.SUCCEEDED) {
            throw new IllegalStateException("the demo's job " + job.name() + " " + job.state().name().toLowerCase() + ": "
                    + job.message());
        }
        return job;
    }

    /**
     * What a demo needs.
     *
     * @param folder the demo's own folder (data, the job's output, summary.json)
     * @param baseModel the built-in base model
     * @param local a host embedded in the command, for measuring models before and after
     * @param kernels the kernels local measurements run on
     * @param jobs where the training job runs
     * @param steps training steps asked for on the command line, or null for the demo's own default
     */
    record Context(Path folder, Path baseModel, EmbeddedHost local, KernelBackend kernels, JobClient jobs, PrintWriter out,
            Integer steps) {

        /** {@link #steps()} or {@code fallback}. */
        int steps(int fallback) {
            return steps == null ? fallback : steps;
        }

        /**
         * Runs the demo's training job to its end, printing its progress, its relative paths resolved
         * against the demo's folder, an earlier run of it overwritten.
         *
         * @return the finished job
         * @throws IllegalStateException if the job did not succeed, with its message
         */
        JobInfo train(JobSpec job) throws Exception {
            return succeeded(new JobFollower(jobs, out).run(job, new SubmitOptions(folder.toString(), false, true, false)));
        }
    }

    /**
     * What a demo measured: {@code summary.json} is {"technique", "before", "after"} plus {@code extra}.
     *
     * @param before figures of the model before training, by the metric names of the technique's issue
     * @param after the same figures after training
     * @param extra anything else worth keeping (the job's output folder, parameters trained, wall time)
     */
    record Summary(Map<String, Object> before, Map<String, Object> after, Map<String, Object> extra) {}
}
