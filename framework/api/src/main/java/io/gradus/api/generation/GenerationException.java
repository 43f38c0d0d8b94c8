package io.gradus.api.generation;

import java.io.Serial;

/** A generation could not run; the message is meant for the person who asked for it. */
public class GenerationException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** What kind of failure, so that an HTTP front end can pick a status code. */
    public enum Reason {
        /** The job or a folder named by the request is not there. */
        NOT_FOUND,
        /** The request itself is wrong; the message names the field. */
        INVALID,
        /** The model could not be loaded or run. */
        FAILED
    }

    private final Reason reason;

    public GenerationException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public GenerationException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
