package io.gradus.api.generation;

import org.osgi.annotation.versioning.ConsumerType;

/** Receives the tokens of a generation as they come. */
@ConsumerType
@FunctionalInterface
public interface TokenSink {

    /**
     * One new token.
     *
     * @return {@code false} to stop generating (the reader went away)
     */
    boolean accept(GeneratedToken token);
}
