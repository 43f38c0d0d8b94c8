package io.gradus.api.event;

import java.time.Instant;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Something that happened in the running system. Events are immutable records; their components
 * are what listeners (and the console's JSON) see.
 */
@ConsumerType
public interface GradusEvent {

    /** A stable, lowercase, dotted event type such as {@code bundle.changed}. */
    String type();

    /** When it happened. */
    Instant time();
}
