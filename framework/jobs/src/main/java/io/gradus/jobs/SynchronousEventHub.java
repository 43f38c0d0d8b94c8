package io.gradus.jobs;

import io.gradus.api.event.EventHub;
import io.gradus.api.event.GradusEvent;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** The host's {@link EventHub}: synchronous fan-out to the current subscribers. */
public final class SynchronousEventHub implements EventHub {

    private static final System.Logger LOG = System.getLogger(SynchronousEventHub.class.getName());

    private final List<Consumer<GradusEvent>> listeners = new CopyOnWriteArrayList<>();

    @Override
    public void publish(GradusEvent event) {
        for (Consumer<GradusEvent> listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "an event listener failed on " + event.type() + "; it stays subscribed", e);
            }
        }
    }

    @Override
    public Subscription subscribe(Consumer<GradusEvent> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }
}
