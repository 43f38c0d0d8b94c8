package io.gradus.console.internal;

import io.gradus.api.event.EventHub;
import io.gradus.api.event.GradusEvent;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobService;
import io.gradus.api.runtime.BundleAdmin;
import io.gradus.api.runtime.BundleOperationException;
import io.gradus.api.technique.TechniqueCatalog;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.Callable;

/**
 * The console's routes: a JSON API under {@code /api}, server-sent events, and the page.
 *
 * <p>Reading is open; every call that changes the running system needs the host's token in an
 * {@code Authorization: Bearer <token>} header, because installing a bundle is running code.
 * Handlers only call the API services; bundle operations block (they wait for the deploy-folder
 * watcher), so they run on worker threads.
 */
final class ConsoleRoutes {

    private static final long SSE_KEEPALIVE_MS = 15_000;

    private final Vertx vertx;
    private final BundleAdmin bundles;
    private final TechniqueCatalog techniques;
    private final EventHub events;
    private final JobService jobs;
    private final byte[] token;
    private final long uploadLimit;

    ConsoleRoutes(Vertx vertx, BundleAdmin bundles, TechniqueCatalog techniques, EventHub events, JobService jobs,
            String token, long uploadLimit) {
        this.vertx = vertx;
        this.bundles = bundles;
        this.techniques = techniques;
        this.events = events;
        this.jobs = jobs;
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.uploadLimit = uploadLimit;
    }

    Router router() {
        Router router = Router.router(vertx);
        router.get("/").handler(ctx -> page(ctx, "console/index.html", "text/html; charset=utf-8"));
        router.get("/api/bundles").handler(ctx -> reply(ctx, 200, JsonView.of(bundles.bundles())));
        router.get("/api/bundles/:id").handler(this::getBundle);
        router.get("/api/techniques").handler(ctx -> reply(ctx, 200, JsonView.of(techniques.techniques())));
        router.get("/api/events").handler(this::events);

        router.route("/api/*").method(HttpMethod.POST).method(HttpMethod.DELETE).method(HttpMethod.PATCH)
                .handler(this::requireToken);
        router.post("/api/bundles").handler(BodyHandler.create(false).setBodyLimit(uploadLimit)).handler(this::install);
        router.post("/api/bundles/:id/start").handler(ctx -> blocking(ctx, 200, () -> bundles.start(id(ctx))));
        router.post("/api/bundles/:id/stop").handler(ctx -> blocking(ctx, 200, () -> bundles.stop(id(ctx))));
        router.post("/api/bundles/:id/update")
                .handler(BodyHandler.create(false).setBodyLimit(uploadLimit))
                .handler(this::update);
        router.delete("/api/bundles/:id").handler(ctx -> blocking(ctx, 200, () -> {
            long id = id(ctx);
            bundles.uninstall(id);
            return new JsonObject().put("uninstalled", id);
        }));

        new JobRoutes(jobs, uploadLimit, this::blocking).register(router);

        router.route("/api/*").last().handler(ctx -> error(ctx, 404, "no such API endpoint: " + ctx.request().method()
                + " " + ctx.request().path()));
        router.route().failureHandler(this::failure);
        return router;
    }

    private void getBundle(RoutingContext ctx) {
        long id = id(ctx);
        bundles.bundle(id).ifPresentOrElse(
                b -> reply(ctx, 200, JsonView.of(b)), () -> error(ctx, 404, "there is no bundle with id " + id));
    }

    private void install(RoutingContext ctx) {
        Buffer body = ctx.body().buffer();
        if (body == null || body.length() == 0) {
            error(ctx, 400, "send the bundle jar as the request body (Content-Type: application/java-archive)");
            return;
        }
        blocking(ctx, 201, () -> bundles.install(stream(body)));
    }

    private void update(RoutingContext ctx) {
        Buffer body = ctx.body().buffer();
        InputStream jar = body == null || body.length() == 0 ? null : stream(body);
        blocking(ctx, 200, () -> bundles.update(id(ctx), jar));
    }

    /** Server-sent events: one {@code event: <type>} / {@code data: <json>} message per event. */
    private void events(RoutingContext ctx) {
        HttpServerResponse response = ctx.response()
                .setChunked(true)
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
        response.write(": connected\n\n");
        var context = vertx.getOrCreateContext();
        EventHub.Subscription subscription = events.subscribe((GradusEvent event) -> context.runOnContext(v -> {
            if (!response.closed()) {
                response.write("event: " + event.type() + "\ndata: " + JsonView.of(event) + "\n\n");
            }
        }));
        long keepAlive = vertx.setPeriodic(SSE_KEEPALIVE_MS, t -> {
            if (!response.closed()) {
                response.write(": keep-alive\n\n");
            }
        });
        response.closeHandler(v -> {
            subscription.close();
            vertx.cancelTimer(keepAlive);
        });
    }

    private void requireToken(RoutingContext ctx) {
        String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
        byte[] given = header != null && header.startsWith("Bearer ")
                ? header.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8)
                : new byte[0];
        if (!MessageDigest.isEqual(given, token)) {
            error(ctx, 401, header == null
                    ? "this call changes the running system and needs the console token: send 'Authorization: Bearer <token>' (the token is printed by 'gradus start' and stored in its console.token file)"
                    : "the console token is wrong (it changes at every start of the host)");
            return;
        }
        ctx.next();
    }

    /** Runs a blocking bundle operation on a worker thread and answers with its result as JSON. */
    private void blocking(RoutingContext ctx, int status, Callable<Object> operation) {
        vertx.executeBlocking(operation, false).onComplete(result -> {
            if (result.succeeded()) {
                reply(ctx, status, JsonView.of(result.result()));
            } else {
                ctx.fail(result.cause());
            }
        });
    }

    private void failure(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        int status = ctx.statusCode();
        if (failure instanceof BundleOperationException e) {
            status = switch (e.reason()) {
                case NOT_FOUND -> 404;
                case INVALID -> 400;
                case CONFLICT -> 409;
                case FAILED -> 422;
            };
            error(ctx, status, e.getMessage());
        } else if (failure instanceof JobException e) {
            error(ctx, switch (e.reason()) {
                case NOT_FOUND -> 404;
                case INVALID -> 400;
                case CONFLICT -> 409;
            }, e.getMessage());
        } else if (failure instanceof BadRequest e) {
            error(ctx, 400, e.getMessage());
        } else if (status == 413) {
            error(ctx, 413, "the upload is larger than the console's limit of " + (uploadLimit >> 20)
                    + " MiB (framework property gradus.console.upload.limit)");
        } else if (failure != null) {
            error(ctx, 500, "internal error: " + failure);
        } else {
            error(ctx, status < 400 ? 500 : status, "request failed with HTTP " + status);
        }
    }

    private static long id(RoutingContext ctx) {
        String raw = ctx.pathParam("id");
        try {
            return Long.parseLong(raw);
        } catch (NumberFormatException e) {
            throw new BadRequest("bundle id must be a number, was '" + raw + "'");
        }
    }

    private static InputStream stream(Buffer body) {
        return new ByteArrayInputStream(body.getBytes());
    }

    static void reply(RoutingContext ctx, int status, Object json) {
        if (ctx.response().ended()) {
            return;
        }
        ctx.response()
                .setStatusCode(status)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json; charset=utf-8")
                .end(String.valueOf(json));
    }

    static void error(RoutingContext ctx, int status, String message) {
        reply(ctx, status, new JsonObject().put("status", status).put("error", message));
    }

    private static void page(RoutingContext ctx, String resource, String contentType) {
        try (InputStream in = ConsoleRoutes.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                error(ctx, 404, "missing console resource " + resource);
                return;
            }
            ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, contentType).end(Buffer.buffer(in.readAllBytes()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A malformed request (bad path parameter): answered with 400 and the message. */
    private static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }
}
