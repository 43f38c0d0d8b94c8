package io.gradus.api.technique;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * What every technique service has in common: a typed configuration.
 *
 * <p>The host binds the {@code config} object of a job specification to {@link #configType()}
 * with Jackson (unknown fields are errors), so a technique receives a validated, immutable record
 * and never parses JSON itself. Validate in the record's compact constructor and throw
 * {@link IllegalArgumentException} naming the field; the host reports it with the job file's path.
 *
 * @param <C> the configuration record of this technique
 */
@ConsumerType
public interface Technique<C> {

    /** The configuration record this technique is configured with. */
    Class<C> configType();

    /** One line for people: what this technique does. Shown by the console and the command line. */
    String description();
}
