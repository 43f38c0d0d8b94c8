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

/**
 * The console's server-sent event streams ({@code GET /api/events}), with back-pressure: a client
 * that does not keep up loses events (counted, and told how many once it catches up) instead of
 * having them buffered without limit, and one that stays stuck is disconnected.
 */
final class EventStreams {

    /** A comment line every so often keeps proxies and browsers from closing an idle stream. */
    private static final long KEEPALIVE_MS = 15_000;
    /** Bytes a client's response may hold before its events are dropped. */
    private static final int QUEUE_BYTES = 1 << 20;
    /** How long a client's queue may stay full before it is disconnected. */
    private static final long STALL_MS = 5_000;

    private final Vertx vertx;
    private final EventHub events;
    private final AtomicInteger connected = new AtomicInteger();
    private final AtomicLong droppedEvents = new AtomicLong();
    private final AtomicLong disconnected = new AtomicLong();

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
        EventHub.Subscription subscription = events.subscribe((GradusEvent event) -> context.runOnContext(v ->
                client.send("event: " + event.type() + "\ndata: " + JsonView.of(event) + "\n\n")));
        long keepAlive = vertx.setPeriodic(KEEPALIVE_MS, t -> client.keepAlive());
        response.closeHandler(v -> {
            subscription.close();
            vertx.cancelTimer(keepAlive);
            client.cancelStallTimer();
            connected.decrementAndGet();
        });
    }

    /** {@code {"connected": n, "droppedEvents": n, "disconnected": n}}: clients now, events and clients lost since start. */
    JsonObject counts() {
        return new JsonObject()
                .put("connected", connected.get())
                .put("droppedEvents", droppedEvents.get())
                .put("disconnected", disconnected.get());
    }

    /** One stream; touched on its event-loop context only. */
    private final class Client {
        private final RoutingContext ctx;
        private final HttpServerResponse response;
        /** Events dropped since the client last got one. */
        private long dropped;
        private long stallTimer = -1;

        Client(RoutingContext ctx, HttpServerResponse response) {
            this.ctx = ctx;
            this.response = response;
            response.drainHandler(v -> caughtUp());
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
            if (dropped > 0) {
                response.write("event: dropped\ndata: " + new JsonObject().put("dropped", dropped) + "\n\n");
                dropped = 0;
            }
        }

        private void watchStall() {
            if (stallTimer >= 0) {
                return;
            }
            stallTimer = vertx.setTimer(STALL_MS, t -> {
                stallTimer = -1;
                if (!response.closed() && response.writeQueueFull()) {
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
