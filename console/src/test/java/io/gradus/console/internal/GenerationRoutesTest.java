package io.gradus.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.generation.GeneratedToken;
import io.gradus.api.generation.GenerationRequest;
import io.gradus.api.generation.GenerationResult;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.generation.TokenSink;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Generations in the console: threads of their own, a bounded number, stopped when the client goes")
class GenerationRoutesTest {

    /** A generation service whose generations send one token, then wait to be released or interrupted. */
    private static final class WaitingGenerations implements GenerationService {
        final BlockingQueue<Thread> started = new LinkedBlockingQueue<>();
        final BlockingQueue<Thread> interrupted = new LinkedBlockingQueue<>();
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public GenerationResult generate(GenerationRequest request, TokenSink sink) {
            sink.accept(new GeneratedToken(0, 7, "the"));
            started.add(Thread.currentThread());
            try {
                release.await();
                return new GenerationResult("base", "the", 1, 1, "length", 1.0);
            } catch (InterruptedException e) {
                interrupted.add(Thread.currentThread());
                return new GenerationResult("base", "the", 1, 1, "stopped", 1.0);
            }
        }
    }

    private final WaitingGenerations service = new WaitingGenerations();
    private Vertx vertx;
    private GenerationRoutes routes;
    private HttpServer server;

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        routes = new GenerationRoutes(vertx, service, null, (ctx, then) -> ctx.request().body().onSuccess(then::accept), 2);
        Router router = Router.router(vertx);
        routes.register(router);
        server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        service.release.countDown();
        routes.close();
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    /** A chat request on a connection of its own, left open until closed. */
    private final class Chat implements AutoCloseable {
        private final Socket socket;
        private final BufferedReader in;

        Chat() throws IOException {
            socket = new Socket("127.0.0.1", server.actualPort());
            socket.setSoTimeout(20_000);
            String body = "{\"prompt\": \"the\"}";
            socket.getOutputStream().write(("POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        }

        int status() throws IOException {
            return Integer.parseInt(in.readLine().split(" ")[1]);
        }

        /** The lines of the answer up to the end of the stream or of a plain body (Content-Length). */
        List<String> rest() throws IOException {
            List<String> lines = new ArrayList<>();
            int length = -1;
            for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                if (line.toLowerCase().startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).strip());
                }
            }
            if (length >= 0) {
                char[] body = new char[length];
                int read = 0;
                while (read < length) {
                    read += in.read(body, read, length - read);
                }
                lines.add(new String(body));
                return lines;
            }
            for (String line = in.readLine(); line != null && !line.equals("0"); line = in.readLine()) {
                lines.add(line);
            }
            return lines;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    @DisplayName("runs as many generations as its threads, on threads of its own; one more is answered at once with 429 and what to do")
    void busyAnswers429() throws Exception {
        try (Chat first = new Chat(); Chat second = new Chat()) {
            Thread a = service.started.poll(20, TimeUnit.SECONDS);
            Thread b = service.started.poll(20, TimeUnit.SECONDS);
            assertThat(List.of(a, b)).as("both run, each on a generation thread (not Vert.x's shared worker pool)")
                    .allSatisfy(t -> assertThat(t.getName()).startsWith("gradus-generation-")).doesNotHaveDuplicates();
            assertThat(first.status()).isEqualTo(200);

            try (Chat third = new Chat()) {
                assertThat(third.status()).isEqualTo(429);
                JsonObject error = new JsonObject(third.rest().getFirst());
                assertThat(error.getInteger("status")).isEqualTo(429);
                assertThat(error.getString("error")).isEqualTo("the console is already running 2 generations, as many as it "
                        + "runs at once; try again when one has finished, or start the host with "
                        + "-Dgradus.console.generation.concurrency=N in GRADUS_JAVA_OPTS");
            }
            assertThat(service.started).as("the refused request never reached the service").isEmpty();

            service.release.countDown();
            assertThat(String.join("\n", first.rest())).contains("event: token", "\"text\":\"the\"", "event: done",
                    "\"stop\":\"length\"");
        }
    }

    @Test
    @DisplayName("a client that goes away interrupts its generation and frees its thread for the next request")
    void clientGoesAway() throws Exception {
        Chat leaving = new Chat();
        try (Chat staying = new Chat()) {
            service.started.poll(20, TimeUnit.SECONDS);
            service.started.poll(20, TimeUnit.SECONDS);
            assertThat(leaving.status()).isEqualTo(200);

            leaving.close();
            Thread stopped = service.interrupted.poll(20, TimeUnit.SECONDS);
            assertThat(stopped).as("the generation of the client that left was interrupted").isNotNull();
            assertThat(service.interrupted).as("and only that one").isEmpty();

            try (Chat next = new Chat()) {
                Thread reused = service.started.poll(20, TimeUnit.SECONDS);
                assertThat(next.status()).as("a thread is free again").isEqualTo(200);
                assertThat(reused).isSameAs(stopped);
                assertThat(service.interrupted.poll(1, TimeUnit.SECONDS)).as("the thread was cleared of the interrupt")
                        .isNull();
            }
        }
    }
}
