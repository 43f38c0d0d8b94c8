package io.gradus.api.runtime;

import java.io.Serial;

/** A bundle operation failed; the message is meant for the person who asked for it. */
public class BundleOperationException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** What kind of failure, so that an HTTP front end can pick a status code. */
    public enum Reason {
        /** No bundle with that id. */
        NOT_FOUND,
        /** The request itself is wrong: not a jar, not a bundle, too large. */
        INVALID,
        /**
         * The operation clashes with the current state: already installed, a guarded bundle, a
         * bundle a running job uses.
         */
        CONFLICT,
        /** The bundle was accepted but cannot resolve or start. */
        FAILED
    }

    private final Reason reason;

    public BundleOperationException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public BundleOperationException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
