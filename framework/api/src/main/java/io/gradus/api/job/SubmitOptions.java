package io.gradus.api.job;

/**
 * How a job is submitted.
 *
 * @param baseDir the folder relative paths of the spec are resolved against (the job file's folder);
 *     {@code null} for the host's working folder
 * @param resume continue from the checkpoint in the job's output folder
 * @param overwrite start over in an output folder that holds a finished or started run
 * @param allowChanges resume even though the spec's settings differ from the checkpointed run's
 */
public record SubmitOptions(String baseDir, boolean resume, boolean overwrite, boolean allowChanges) {

    /** A fresh job, relative paths against {@code baseDir}. */
    public static SubmitOptions in(String baseDir) {
        return new SubmitOptions(baseDir, false, false, false);
    }
}
