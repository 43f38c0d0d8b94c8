package io.gradus.api.job;

/** Where a job is in its life. */
public enum JobState {
    /** Waiting for a free slot. */
    QUEUED,
    /** Training. */
    RUNNING,
    /** Finished every step; its result is saved. */
    SUCCEEDED,
    /** Stopped by an error; the message says which. */
    FAILED,
    /** Stopped on request; its last checkpoint is kept and it can be resumed. */
    CANCELLED,
    /**
     * Stopped by something outside the job (the host went away, a bundle it used was removed by
     * force); its last checkpoint is kept and it can be resumed.
     */
    INTERRUPTED;

    /** Whether the job has stopped for good (until resumed). */
    public boolean finished() {
        return this != QUEUED && this != RUNNING;
    }
}
