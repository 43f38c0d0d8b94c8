package io.gradus.console.internal;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.generation.GenerationException;
import io.gradus.api.generation.GenerationRequest;
import io.gradus.api.generation.GenerationResult;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.generation.GenerationSettings;
import io.gradus.api.generation.ModelSource;
import io.gradus.api.technique.ConfigSchemas;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Talking to a model from the console, over the host's {@link GenerationService}:
 * <pre>
 *   GET  /api/generate/schema   the generation settings as a JSON Schema
 *   POST /api/generate          {"model": {"base", "adapter", "job"}, "prompt" | "messages", "settings"}:
 *                               answered as server-sent events, "token" per token, then "done"
 * </pre>
 * The stream starts with the first token, so a request that fails before (a bad field, a job
 * without checkpoint) gets an ordinary JSON error with its status; a failure after it is an
 * {@code error} event.
 *
 * <p>Generations run on threads of their own, a fixed number of them ({@code concurrency}), never
 * on Vert.x's shared worker pool, where the job and bundle routes wait: a request that finds them
 * all busy is answered at once with 429. A client that goes away stops its generation: the thread
 * is interrupted (a model being loaded stops at its next module) and the sink refuses the next token.
 */
final class GenerationRoutes implements AutoCloseable {

    /** The framework property that sets how many generations run at once. */
    static final String CONCURRENCY = "gradus.console.generation.concurrency";

    private final Vertx vertx;
    private final GenerationService generation;
    private final ConfigSchemas schemas;
    private final BiConsumer<RoutingContext, Consumer<Buffer>> rawBody;
    private final int concurrency;
    /** One permit per generation thread: taken on the event loop, so a busy console answers at once. */
    private final Semaphore free;
    private final ExecutorService threads;

    /**
     * @param rawBody reads a request's whole body within the console's limit
     * @param concurrency how many generations run at once
     */
    GenerationRoutes(Vertx vertx, GenerationService generation, ConfigSchemas schemas,
            BiConsumer<RoutingContext, Consumer<Buffer>> rawBody, int concurrency) {
        if (concurrency < 1) {
            throw new IllegalArgumentException(CONCURRENCY + " must be at least 1, was " + concurrency);
        }
        this.vertx = vertx;
        this.generation = generation;
        this.schemas = schemas;
        this.rawBody = rawBody;
        this.concurrency = concurrency;
        this.free = new Semaphore(concurrency);
        this.threads = Executors.newFixedThreadPool(concurrency, Thread.ofPlatform().daemon().name("gradus-generation-", 1)
                .factory());
    }

    /** Stops the running generations and their threads. */
    @Override
    public void close() {
        threads.shutdownNow();
    }

    void register(Router router) {
        router.get("/api/generate/schema").handler(ctx -> ConsoleRoutes.reply(ctx, 200, JsonSchemaView.of(
                schemas.of(GenerationSettings.class), "generation settings", "How the next token is chosen.")));
        router.post("/api/generate").handler(ctx -> rawBody.accept(ctx, body -> {
            GenerationRequest request;
            try {
                request = request(body);
            } catch (IllegalArgumentException | ClassCastException | DecodeException e) {
                ConsoleRoutes.error(ctx, 400, message(e));
                return;
            }
            stream(ctx, request);
        }));
    }

    private void stream(RoutingContext ctx, GenerationRequest request) {
        if (!free.tryAcquire()) {
            ConsoleRoutes.error(ctx, 429, "the console is already running " + concurrency + " generation"
                    + (concurrency == 1 ? "" : "s") + ", as many as it runs at once; try again when one has finished, or start "
                    + "the host with -D" + CONCURRENCY + "=N in GRADUS_JAVA_OPTS");
            return;
        }
        HttpServerResponse response = ctx.response();
        Context context = vertx.getOrCreateContext();
        Running running = new Running();
        response.closeHandler(v -> running.stop());
        try {
            threads.execute(() -> {
                GenerationResult result = null;
                Throwable failure = null;
                try {
                    if (running.start()) {
                        result = generation.generate(request, token -> {
                            if (running.stopped()) {
                                return false;
                            }
                            context.runOnContext(v -> send(response, "token", JsonView.of(token)));
                            return true;
                        });
                    }
                } catch (RuntimeException | Error e) {
                    failure = e;
                } finally {
                    running.finish();
                    free.release();
                }
                GenerationResult done = result;
                Throwable failed = failure;
                context.runOnContext(v -> finish(ctx, done, failed));
            });
        } catch (RejectedExecutionException e) {
            free.release();
            ConsoleRoutes.error(ctx, 503, "the console is stopping");
        }
    }

    /** Ends the answer: the result as the last event, or the failure as a JSON error or an error event. */
    private static void finish(RoutingContext ctx, GenerationResult result, Throwable failure) {
        HttpServerResponse response = ctx.response();
        if (response.closed()) {
            return;
        }
        if (failure == null) {
            if (result != null) {
                send(response, "done", JsonView.of(result));
            }
            if (!response.ended()) {
                response.end();
            }
        } else if (!response.headWritten()) {
            ctx.fail(failure);
        } else {
            send(response, "error", new JsonObject().put("error", failure.getMessage()));
            if (!response.ended()) {
                response.end();
            }
        }
    }

    /**
     * The thread of one generation, interrupted when its client goes away. The interrupt is only
     * sent while the generation runs on it, and cleared when it ends: the thread runs other
     * generations after.
     */
    private static final class Running {
        private Thread thread;
        private boolean stopped;

        /** Claims the current thread; false when the client went away before the generation started. */
        synchronized boolean start() {
            if (stopped) {
                return false;
            }
            thread = Thread.currentThread();
            return true;
        }

        synchronized boolean stopped() {
            return stopped;
        }

        synchronized void stop() {
            stopped = true;
            if (thread != null) {
                thread.interrupt();
            }
        }

        synchronized void finish() {
            if (thread != null) {
                Thread.interrupted();
                thread = null;
            }
        }
    }

    /** Writes one event, starting the stream with the first. */
    private static void send(HttpServerResponse response, String type, Object json) {
        if (response.closed() || response.ended()) {
            return;
        }
        if (!response.headWritten()) {
            response.setChunked(true)
                    .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
                    .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
        }
        response.write("event: " + type + "\ndata: " + json + "\n\n");
    }

    /** Binds the request body, naming the field that is wrong. */
    static GenerationRequest request(Buffer body) {
        JsonObject json = body.length() == 0 ? new JsonObject() : new JsonObject(body);
        JsonObject model = object(json, "model");
        JsonObject settings = object(json, "settings");
        List<ChatMessage> messages = new ArrayList<>();
        JsonArray turns = json.getJsonArray("messages", new JsonArray());
        for (int i = 0; i < turns.size(); i++) {
            JsonObject turn = turns.getJsonObject(i);
            String where = "messages[" + i + "]";
            messages.add(new ChatMessage(required(turn, "role", where), required(turn, "content", where)));
        }
        return new GenerationRequest(
                new ModelSource(string(model, "base", "model"), string(model, "adapter", "model"), string(model, "job", "model")),
                string(json, "prompt", null),
                messages,
                new GenerationSettings(
                        integer(settings, "maxNewTokens"),
                        number(settings, "temperature"),
                        integer(settings, "topK"),
                        number(settings, "topP"),
                        whole(settings, "seed")));
    }

    private static JsonObject object(JsonObject json, String field) {
        Object value = json.getValue(field);
        if (value != null && !(value instanceof JsonObject)) {
            throw new IllegalArgumentException(field + " must be an object");
        }
        return value == null ? new JsonObject() : (JsonObject) value;
    }

    private static String string(JsonObject json, String field, String parent) {
        Object value = json.getValue(field);
        if (value != null && !(value instanceof String)) {
            throw new IllegalArgumentException((parent == null ? "" : parent + ".") + field + " must be a string");
        }
        return (String) value;
    }

    private static String required(JsonObject json, String field, String where) {
        String value = string(json, field, where);
        if (value == null) {
            throw new IllegalArgumentException(where + "." + field + " is required");
        }
        return value;
    }

    private static Integer integer(JsonObject settings, String field) {
        Long value = whole(settings, field);
        if (value != null && (value > Integer.MAX_VALUE || value < Integer.MIN_VALUE)) {
            throw new IllegalArgumentException("settings." + field + " is too large: " + value);
        }
        return value == null ? null : value.intValue();
    }

    private static Long whole(JsonObject settings, String field) {
        Object value = settings.getValue(field);
        if (value == null) {
            return null;
        }
        if (!(value instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
            throw new IllegalArgumentException("settings." + field + " must be a whole number, was " + value);
        }
        return n.longValue();
    }

    private static Double number(JsonObject settings, String field) {
        Object value = settings.getValue(field);
        if (value == null) {
            return null;
        }
        if (!(value instanceof Number n)) {
            throw new IllegalArgumentException("settings." + field + " must be a number, was " + value);
        }
        return n.doubleValue();
    }

    private static String message(RuntimeException e) {
        return e instanceof DecodeException ? "the body must be a JSON object: {\"prompt\": ..., \"model\": {...}, \"settings\": {...}}"
                : e.getMessage();
    }

    /** The HTTP status of a generation failure. */
    static int status(GenerationException e) {
        return switch (e.reason()) {
            case NOT_FOUND -> 404;
            case INVALID -> 400;
            case FAILED -> 422;
        };
    }
}
