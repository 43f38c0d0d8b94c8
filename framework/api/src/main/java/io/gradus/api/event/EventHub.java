package io.gradus.api.event;

import java.util.function.Consumer;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Publishes {@link GradusEvent}s to subscribers. Provided by the host as a service.
 *
 * <p>Listeners are called on the publishing thread and must return quickly; a listener that
 * throws is logged and kept.
 */
@ProviderType
public interface EventHub {

    void publish(GradusEvent event);

    /**
     * Subscribes {@code listener} to every event published from now on.
     *
     * @return closing it unsubscribes
     */
    Subscription subscribe(Consumer<GradusEvent> listener);

    /** A subscription; close it when the listener goes away (e.g. an HTTP client disconnects). */
    interface Subscription extends AutoCloseable {
        @Override
        void close();
    }
}
