package io.gradus.api.job;

import java.io.Serial;

/** A job operation failed; the message is meant for the person who asked for it. */
public class JobException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** What kind of failure, so that an HTTP front end can pick a status code. */
    public enum Reason {
        /** No job with that id. */
        NOT_FOUND,
        /** The job file or the request is wrong (a field, a value, a path); the message names it. */
        INVALID,
        /** The operation clashes with the job's state (cancel a finished job, an output folder in use). */
        CONFLICT
    }

    private final Reason reason;

    public JobException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public JobException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
