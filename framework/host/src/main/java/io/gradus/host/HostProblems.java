package io.gradus.host;

import io.gradus.api.event.EventHub;
import io.gradus.api.event.GradusEvent;
import io.gradus.api.event.Problem;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The host's current problems, each kept under its cause (a key such as a deploy file or a
 * bundle's start) so that it goes away when the cause is fixed, and bounded: the oldest goes first.
 * Every new problem, or new message for a cause, is also published as a {@link Problem} event.
 * Problems that others publish on the event hub (the console, jobs) are kept too, under a key of
 * their own, until the bound pushes them out.
 */
final class HostProblems implements Consumer<GradusEvent> {

    private final EventHub events;
    private final int capacity;
    /** Insertion order is age: a problem re-reported with a new message moves to the end. */
    private final LinkedHashMap<String, Problem> current;
    private long unkeyed;
    /** The problem this thread is publishing, so that it is not kept twice when it comes back as an event. */
    private final ThreadLocal<Problem> publishing = new ThreadLocal<>();

    HostProblems(EventHub events, int capacity) {
        this.events = events;
        this.capacity = capacity;
        this.current = new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Problem> eldest) {
                return size() > HostProblems.this.capacity;
            }
        };
        events.subscribe(this);
    }

    /**
     * Records the problem of {@code cause}, replacing the one it had; publishes it unless the cause
     * already had exactly this problem (a watcher that looks again does not repeat itself).
     */
    void report(String cause, String source, String message) {
        Problem problem;
        synchronized (current) {
            Problem previous = current.get(cause);
            if (previous != null && previous.source().equals(source) && previous.message().equals(message)) {
                return;
            }
            problem = new Problem(Instant.now(), source, message);
            current.remove(cause);
            current.put(cause, problem);
        }
        publishing.set(problem);
        try {
            events.publish(problem);
        } finally {
            publishing.remove();
        }
    }

    /** The cause is fixed: its problem goes away. */
    void clear(String cause) {
        synchronized (current) {
            current.remove(cause);
        }
    }

    /** Every cause whose key starts with {@code prefix} is fixed (e.g. everything about one bundle). */
    void clearAll(String prefix) {
        synchronized (current) {
            current.keySet().removeIf(key -> key.startsWith(prefix));
        }
    }

    /** The message of {@code cause}'s current problem, or {@code null}. */
    String message(String cause) {
        synchronized (current) {
            Problem problem = current.get(cause);
            return problem == null ? null : problem.message();
        }
    }

    /** The current problems, oldest first. */
    List<Problem> list() {
        synchronized (current) {
            return List.copyOf(current.values());
        }
    }

    /** A problem published by someone else: kept under a key of its own. */
    @Override
    public void accept(GradusEvent event) {
        if (!(event instanceof Problem problem)) {
            return;
        }
        if (publishing.get() == problem) {
            return; // our own, already kept under its cause (the hub calls listeners on the publishing thread)
        }
        synchronized (current) {
            current.put("event " + unkeyed++, problem);
        }
    }
}
