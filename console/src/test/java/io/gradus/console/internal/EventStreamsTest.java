package io.gradus.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.event.EventHub;
import io.gradus.api.event.GradusEvent;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Event streams")
class EventStreamsTest {

    /** The host's hub as the console sees it: synchronous fan-out on the publisher's thread. */
    private static final class Hub implements EventHub {
        final List<Consumer<GradusEvent>> listeners = new CopyOnWriteArrayList<>();

        @Override
        public void publish(GradusEvent event) {
            listeners.forEach(l -> l.accept(event));
        }

        @Override
        public Subscription subscribe(Consumer<GradusEvent> listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }
    }

    public record Tick(Instant time, int n) implements GradusEvent {
        @Override
        public String type() {
            return "test.tick";
        }
    }

    /** One event loop: every connection and every context runs on the same thread. */
    private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    @DisplayName("when the console's event loop falls behind, a client's waiting events are bounded: the rest are dropped, counted and announced")
    void pendingEventsAreBounded() throws Exception {
        Hub hub = new Hub();
        EventStreams streams = new EventStreams(vertx, hub);
        Router router = Router.router(vertx);
        router.get("/events").handler(streams::open);
        HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try (Socket socket = new Socket("127.0.0.1", server.actualPort())) {
            OutputStream request = socket.getOutputStream();
            request.write("GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            request.flush();
            BufferedReader lines = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            while (!": connected".equals(lines.readLine())) {
                // headers and chunk sizes
            }

            // The event loop is busy (a long task stands in for a flood of work): events pile up for it.
            CountDownLatch busy = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Context loop = vertx.getOrCreateContext();
            loop.runOnContext(v -> {
                busy.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(busy.await(10, TimeUnit.SECONDS)).isTrue();
            int published = 3 * EventStreams.MAX_PENDING;
            for (int i = 0; i < published; i++) {
                hub.publish(new Tick(Instant.now(), i));
            }
            assertThat(streams.counts().getLong("droppedEvents")).as("dropped before the loop runs again")
                    .isEqualTo(published - EventStreams.MAX_PENDING);
            release.countDown();

            socket.setSoTimeout(10_000);
            int ticks = 0;
            long announced = 0;
            int last = -1;
            while (ticks < EventStreams.MAX_PENDING || announced == 0) {
                String line = lines.readLine();
                if (line.startsWith("data: {\"dropped\"")) {
                    announced += Long.parseLong(line.replaceAll("\\D", ""));
                } else if (line.startsWith("data: {\"time\"")) {
                    int n = Integer.parseInt(line.replaceAll(".*\"n\":(\\d+).*", "$1"));
                    assertThat(n).as("the events kept are the first ones, in order").isEqualTo(last + 1);
                    last = n;
                    ticks++;
                }
            }
            assertThat(ticks).isEqualTo(EventStreams.MAX_PENDING);
            assertThat(announced).as("the client is told how many it missed").isEqualTo(published - EventStreams.MAX_PENDING);

            // Caught up, it gets every event again.
            hub.publish(new Tick(Instant.now(), -1));
            String line;
            do {
                line = lines.readLine();
            } while (!line.startsWith("data: "));
            assertThat(line).contains("\"n\":-1");
        }
    }
}
