package io.gradus.console.internal;

import io.gradus.api.event.EventHub;
import io.gradus.api.event.GradusEvent;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The console's server-sent event streams ({@code GET /api/events}), with back-pressure: a client
 * that does not keep up loses events (counted, and told how many once it catches up) instead of
 * having them buffered without limit, and one that stays stuck is disconnected. The same holds when
 * the console itself falls behind: each client has at most {@value #MAX_PENDING} events waiting for
 * its event loop, and an event beyond that is dropped and counted the same way (found by the soak
 * test, where 55 clients and a fast job kept the event loops seconds behind).
 */
final class EventStreams {

    /** A comment line every so often keeps proxies and browsers from closing an idle stream. */
    private static final long KEEPALIVE_MS = 15_000;
    /** Bytes a client's response may hold before its events are dropped. */
    private static final int QUEUE_BYTES = 1 << 20;
    /** How long a client's queue may stay full before it is disconnected. */
    private static final long STALL_MS = 5_000;
    /** Events handed to a client's event loop and not yet written: beyond this, events are dropped. */
    static final int MAX_PENDING = 1_000;

    private final Vertx vertx;
    private final EventHub events;
    private final AtomicInteger connected = new AtomicInteger();
    private final AtomicLong droppedEvents = new AtomicLong();
    private final AtomicLong disconnected = new AtomicLong();
    /** The last event rendered, so that an event going to many clients is turned into JSON once. */
    private final AtomicReference<Rendered> lastRendered = new AtomicReference<>();

    private record Rendered(GradusEvent event, String message) {}

    EventStreams(Vertx vertx, EventHub events) {
        this.vertx = vertx;
        this.events = events;
    }

    /** Serves one client: one {@code event: <type>} / {@code data: <json>} message per event. */
    void open(RoutingContext ctx) {
        HttpServerResponse response = ctx.response()
                .setChunked(true)
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
                .setWriteQueueMaxSize(QUEUE_BYTES);
        response.write(": connected\n\n");
        connected.incrementAndGet();
        Client client = new Client(ctx, response);
        Context context = vertx.getOrCreateContext();
        EventHub.Subscription subscription = events.subscribe((GradusEvent event) -> client.offer(context, render(event)));
        long keepAlive = vertx.setPeriodic(KEEPALIVE_MS, t -> client.keepAlive());
        response.closeHandler(v -> {
            subscription.close();
            vertx.cancelTimer(keepAlive);
            client.cancelStallTimer();
            connected.decrementAndGet();
        });
    }

    /**
     * The event as a server-sent message. The hub hands one event to every client's listener in turn,
     * on the publisher's thread: it is rendered for the first and reused for the others.
     */
    private String render(GradusEvent event) {
        Rendered last = lastRendered.get();
        if (last != null && last.event() == event) {
            return last.message();
        }
        String message = "event: " + event.type() + "\ndata: " + JsonView.of(event) + "\n\n";
        lastRendered.set(new Rendered(event, message));
        return message;
    }

    /** {@code {"connected": n, "droppedEvents": n, "disconnected": n}}: clients now, events and clients lost since start. */
    JsonObject counts() {
        return new JsonObject()
                .put("connected", connected.get())
                .put("droppedEvents", droppedEvents.get())
                .put("disconnected", disconnected.get());
    }

    /** One stream; touched on its event-loop context only, but for the atomic counters of {@link #offer}. */
    private final class Client {
        private final RoutingContext ctx;
        private final HttpServerResponse response;
        /** Events dropped since the client last got one. */
        private long dropped;
        private long stallTimer = -1;
        /** Disconnected for staying stuck (counted once). */
        private boolean cutOff;
        /** Events handed to the event loop and not yet sent, and those dropped because there were too many. */
        private final AtomicInteger pending = new AtomicInteger();
        private final AtomicLong droppedPending = new AtomicLong();

        Client(RoutingContext ctx, HttpServerResponse response) {
            this.ctx = ctx;
            this.response = response;
            response.drainHandler(v -> caughtUp());
        }

        /** From the publisher's thread: hands the message to the client's event loop, unless too many wait there. */
        void offer(Context context, String message) {
            if (pending.incrementAndGet() > MAX_PENDING) {
                pending.decrementAndGet();
                droppedPending.incrementAndGet();
                droppedEvents.incrementAndGet();
                return;
            }
            context.runOnContext(v -> {
                pending.decrementAndGet();
                send(message);
            });
        }

        void send(String message) {
            if (response.closed()) {
                return;
            }
            if (response.writeQueueFull()) {
                dropped++;
                droppedEvents.incrementAndGet();
                watchStall();
                return;
            }
            tellDropped();
            response.write(message);
        }

        void keepAlive() {
            if (!response.closed() && !response.writeQueueFull()) {
                response.write(": keep-alive\n\n");
            }
        }

        /** The queue drained: the client learns how many events it missed, so it can reload. */
        private void caughtUp() {
            cancelStallTimer();
            if (!response.closed()) {
                tellDropped();
            }
        }

        private void tellDropped() {
            dropped += droppedPending.getAndSet(0);
            if (dropped > 0) {
                response.write("event: dropped\ndata: " + new JsonObject().put("dropped", dropped) + "\n\n");
                dropped = 0;
            }
        }

        private void watchStall() {
            if (stallTimer >= 0 || cutOff) {
                return;
            }
            stallTimer = vertx.setTimer(STALL_MS, t -> {
                stallTimer = -1;
                if (!response.closed() && response.writeQueueFull()) {
                    // Closing takes effect later: events meanwhile must not start another timer and count again.
                    cutOff = true;
                    disconnected.incrementAndGet();
                    ctx.request().connection().close();
                }
            });
        }

        void cancelStallTimer() {
            if (stallTimer >= 0) {
                vertx.cancelTimer(stallTimer);
                stallTimer = -1;
            }
        }
    }
}
