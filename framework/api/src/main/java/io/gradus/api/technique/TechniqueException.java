package io.gradus.api.technique;

import java.io.Serial;

/** A technique cannot do what it was asked; the message says what and why, for a person. */
public class TechniqueException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    public TechniqueException(String message) {
        super(message);
    }

    public TechniqueException(String message, Throwable cause) {
        super(message, cause);
    }
}
