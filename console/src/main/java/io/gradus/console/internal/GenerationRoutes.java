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
import java.util.concurrent.atomic.AtomicBoolean;
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
 * {@code error} event. A client that goes away stops the generation at its next token.
 */
final class GenerationRoutes {

    private final Vertx vertx;
    private final GenerationService generation;
    private final ConfigSchemas schemas;
    private final BiConsumer<RoutingContext, Consumer<Buffer>> rawBody;

    GenerationRoutes(Vertx vertx, GenerationService generation, ConfigSchemas schemas,
            BiConsumer<RoutingContext, Consumer<Buffer>> rawBody) {
        this.vertx = vertx;
        this.generation = generation;
        this.schemas = schemas;
        this.rawBody = rawBody;
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
        HttpServerResponse response = ctx.response();
        Context context = vertx.getOrCreateContext();
        AtomicBoolean open = new AtomicBoolean(true);
        response.closeHandler(v -> open.set(false));
        vertx.executeBlocking(() -> generation.generate(request, token -> {
            if (!open.get()) {
                return false;
            }
            context.runOnContext(v -> send(response, "token", JsonView.of(token)));
            return true;
        }), false).onComplete(result -> {
            if (result.succeeded()) {
                send(response, "done", JsonView.of(result.result()));
                response.end();
            } else if (!response.headWritten()) {
                ctx.fail(result.cause());
            } else {
                send(response, "error", new JsonObject().put("error", result.cause().getMessage()));
                response.end();
            }
        });
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
