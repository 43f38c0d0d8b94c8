package io.gradus.console.internal;

import io.gradus.api.event.EventHub;
import io.gradus.api.generation.GenerationException;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobService;
import io.gradus.api.runtime.BundleAdmin;
import io.gradus.api.runtime.BundleInfo;
import io.gradus.api.runtime.BundleOperationException;
import io.gradus.api.technique.ConfigSchemas;
import io.gradus.api.technique.Technique;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.component.runtime.ServiceComponentRuntime;

/**
 * The console's routes: a JSON API under {@code /api}, server-sent events, and the page.
 *
 * <p>Reading is open; every call that changes the running system needs the host's token in an
 * {@code Authorization: Bearer <token>} header, because installing a bundle is running code.
 * Handlers only call the API services; bundle operations block (they wait for the host's
 * bundle-operations thread), so they run on worker threads. A jar upload is the raw request body,
 * whatever its content type.
 */
final class ConsoleRoutes implements AutoCloseable {

    /** The services the routes call. */
    record Services(BundleAdmin bundles, TechniqueCatalog techniques, EventHub events, JobService jobs,
            GenerationService generation, ConfigSchemas schemas, ServiceComponentRuntime components) {}

    /**
     * How the console was started.
     *
     * @param host the address it binds to
     * @param token what mutating calls must send
     * @param tokenFile where the host stored the token, for the page's prompt
     * @param uploadLimit the largest request body, in bytes
     * @param generationConcurrency how many generations (chats) run at once
     */
    record Settings(String host, String token, String tokenFile, long uploadLimit, int generationConcurrency) {}

    private final Vertx vertx;
    private final Services services;
    private final BundleAdmin bundles;
    private final EventStreams events;
    private final byte[] token;
    private final Settings settings;
    private final HostCheck hostCheck;
    private final GenerationRoutes generation;
    /** This console's own bundle: a forced operation on it answers before it runs. */
    private final Bundle consoleBundle = FrameworkUtil.getBundle(ConsoleRoutes.class);

    ConsoleRoutes(Vertx vertx, Services services, Settings settings) {
        this.vertx = vertx;
        this.services = services;
        this.bundles = services.bundles();
        this.events = new EventStreams(vertx, services.events());
        this.token = settings.token().getBytes(StandardCharsets.UTF_8);
        this.settings = settings;
        this.hostCheck = new HostCheck(settings.host());
        this.generation = new GenerationRoutes(vertx, services.generation(), services.schemas(), this::rawBody,
                settings.generationConcurrency());
    }

    /** Stops the generations that run. */
    @Override
    public void close() {
        generation.close();
    }

    Router router() {
        Router router = Router.router(vertx);
        router.route().handler(this::checkHost);
        router.get("/").handler(ctx -> page(ctx, "console/index.html"));
        router.get("/ui/:file").handler(ctx -> page(ctx, "console/" + asset(ctx.pathParam("file"))));
        router.get("/vendor/chart.js").handler(ctx -> vendor(ctx, "META-INF/resources/webjars/chart.js", "chart.umd.min.js"));
        router.get("/vendor/chart.js/LICENSE.md").handler(ctx -> vendor(ctx, "META-INF/resources/webjars/chart.js", "LICENSE.md"));
        router.get("/api/console").handler(this::console);
        router.get("/api/bundles").handler(ctx -> reply(ctx, 200, JsonView.of(bundles.bundles())));
        router.get("/api/bundles/:id").handler(this::getBundle);
        router.get("/api/bundles/:id/details").handler(this::details);
        router.get("/api/techniques").handler(ctx -> reply(ctx, 200, JsonView.of(services.techniques().techniques())));
        router.get("/api/techniques/:family/:name/schema").handler(this::techniqueSchema);
        router.get("/api/problems").handler(ctx -> reply(ctx, 200, JsonView.of(bundles.problems())));
        router.get("/api/events").handler(events::open);
        router.get("/api/events/clients").handler(ctx -> reply(ctx, 200, events.counts()));

        router.route("/api/*").method(HttpMethod.POST).method(HttpMethod.DELETE).method(HttpMethod.PATCH)
                .handler(this::requireToken);
        router.post("/api/console/token").handler(ctx -> ctx.response().setStatusCode(204).end());
        router.post("/api/bundles").handler(this::install);
        router.post("/api/bundles/:id/start").handler(ctx -> blocking(ctx, 200, () -> bundles.start(id(ctx))));
        router.post("/api/bundles/:id/stop").handler(ctx -> operate(ctx, "stop", () -> bundles.stop(id(ctx), force(ctx))));
        router.post("/api/bundles/:id/update").handler(this::update);
        router.delete("/api/bundles/:id").handler(ctx -> operate(ctx, "remove", () -> {
            long id = id(ctx);
            bundles.uninstall(id, force(ctx));
            return new JsonObject().put("uninstalled", id);
        }));

        new JobRoutes(services.jobs(), services.schemas(), this::blocking, this::rawBody).register(router);
        generation.register(router);

        router.route("/api/*").last().handler(ctx -> error(ctx, 404, "no such API endpoint: " + ctx.request().method()
                + " " + ctx.request().path()));
        router.route().failureHandler(this::failure);
        return router;
    }

    /**
     * Refuses a request whose Host header does not name this console (403), before any route: a page
     * of another site whose domain was made to resolve here (DNS rebinding) reads nothing.
     */
    private void checkHost(RoutingContext ctx) {
        // The Host header on HTTP/1.1, the :authority pseudo-header on HTTP/2.
        HostAndPort authority = ctx.request().authority();
        int port = ctx.request().localAddress().port();
        if (authority == null || !hostCheck.accepts(authority.host(), authority.port(), port)) {
            error(ctx, 403, "the Host header '" + (authority == null ? "" : authority) + "' does not name this console ("
                    + settings.host() + ":" + port + "); open the console by its own address");
            return;
        }
        ctx.next();
    }

    /** What the page needs to know about this console: where it listens and where the token is. */
    private void console(RoutingContext ctx) {
        reply(ctx, 200, new JsonObject()
                .put("host", settings.host())
                .put("port", ctx.request().localAddress().port())
                .put("loopback", hostCheck.loopback())
                .put("tokenFile", settings.tokenFile())
                .put("bundle", consoleBundle.getBundleId()));
    }

    private void details(RoutingContext ctx) {
        long id = id(ctx);
        JsonObject details = bundles.details(id).map(d -> (JsonObject) JsonView.of(d))
                .orElseThrow(() -> new BundleOperationException(BundleOperationException.Reason.NOT_FOUND,
                        "there is no bundle with id " + id));
        Bundle bundle = consoleBundle.getBundleContext().getBundle(id);
        details.put("components", bundle == null ? new JsonArray() : ComponentsView.of(services.components(), bundle));
        reply(ctx, 200, details);
    }

    /**
     * The JSON Schema of a technique's configuration: {@code ?version=} one version (exactly that
     * one) or an OSGi range (the highest installed in it); without it, the highest installed.
     */
    private void techniqueSchema(RoutingContext ctx) {
        String family = ctx.pathParam("family");
        String name = ctx.pathParam("name");
        String version = ctx.queryParams().get("version");
        String range = versionRange(version);
        Optional<? extends TechniqueCatalog.Found<? extends Technique<?>>> found;
        try {
            found = switch (family) {
                case "tuner" -> services.techniques().tuner(name, range);
                case "objective" -> services.techniques().objective(name, range);
                default -> throw new BadRequest("family must be tuner or objective, was '" + family + "'");
            };
        } catch (IllegalArgumentException e) {
            throw new BadRequest("version: " + e.getMessage());
        }
        var technique = found.orElse(null);
        if (technique == null) {
            List<String> installed = services.techniques().techniques().stream()
                    .filter(d -> d.name().equals(name) && d.family().label().equals(family))
                    .map(TechniqueDescriptor::version).sorted().toList();
            error(ctx, 404, "no " + family + " '" + name + "'" + (version == null ? ""
                    : range.equals(version.strip()) ? " in version range " + range : " " + version.strip())
                    + " is installed" + (installed.isEmpty() ? "" : " (installed: " + String.join(", ", installed) + ")"));
            return;
        }
        TechniqueDescriptor d = technique.descriptor();
        reply(ctx, 200, JsonSchemaView.of(services.schemas().of(technique.technique().configType()),
                d.family().label() + " " + d.name() + " " + d.version(), d.description()));
    }

    /**
     * A {@code ?version=} parameter as the catalog's version range: a range as it is, and one
     * version as exactly that version, {@code [v,v]}. In OSGi's own syntax a bare version means "v or
     * newer", which is not what a person asking for the settings of lora 1.0.0 means.
     */
    static String versionRange(String version) {
        if (version == null || version.isBlank()) {
            return null;
        }
        String v = version.strip();
        return v.startsWith("[") || v.startsWith("(") ? v : "[" + v + "," + v + "]";
    }

    private void getBundle(RoutingContext ctx) {
        long id = id(ctx);
        bundles.bundle(id).ifPresentOrElse(
                b -> reply(ctx, 200, JsonView.of(b)), () -> error(ctx, 404, "there is no bundle with id " + id));
    }

    private void install(RoutingContext ctx) {
        rawBody(ctx, body -> {
            if (body.length() == 0) {
                error(ctx, 400, "send the bundle jar as the request body (e.g. curl --data-binary @my-technique.jar)");
                return;
            }
            blocking(ctx, 201, () -> bundles.install(stream(body)));
        });
    }

    /** An update that waits for the jobs using the bundle answers 202 with the bundle's {@code pending}. */
    private void update(RoutingContext ctx) {
        rawBody(ctx, body -> operate(ctx, "update", () -> {
            BundleInfo updated = bundles.update(id(ctx), body.length() == 0 ? null : stream(body), force(ctx));
            return updated.pending() == null ? updated : new Accepted(updated);
        }));
    }

    /**
     * Reads the request's raw body (a jar, a job file), up to the upload limit, whatever its content
     * type: {@code curl --data-binary} sends {@code application/x-www-form-urlencoded}, which a form
     * decoder would try to parse.
     */
    void rawBody(RoutingContext ctx, Consumer<Buffer> then) {
        HttpServerRequest request = ctx.request();
        String declared = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (declared != null && declared.matches("\\d{1,18}") && Long.parseLong(declared) > settings.uploadLimit()) {
            ctx.fail(413);
            return;
        }
        Buffer body = Buffer.buffer();
        request.handler(chunk -> {
            if (ctx.failed()) {
                return;
            }
            if (body.length() + (long) chunk.length() > settings.uploadLimit()) {
                ctx.fail(413);
            } else {
                body.appendBuffer(chunk);
            }
        });
        request.exceptionHandler(ctx::fail);
        request.endHandler(v -> {
            if (!ctx.failed()) {
                then.accept(body);
            }
        });
        request.resume();
    }

    /**
     * A stop, update or removal. Forced on the console's own bundle, the answer (202) goes first:
     * the operation takes down the server that would send it.
     */
    private void operate(RoutingContext ctx, String operation, Callable<Object> call) {
        if (id(ctx) != consoleBundle.getBundleId() || !force(ctx)) {
            blocking(ctx, 200, call);
            return;
        }
        JsonObject answer = new JsonObject().put("status", 202).put("accepted", operation).put("id", consoleBundle.getBundleId())
                .put("message", "the console goes away after this answer; restart the host to get it back");
        ctx.response().setStatusCode(202).putHeader(HttpHeaders.CONTENT_TYPE, "application/json; charset=utf-8")
                .end(answer.encode())
                .onComplete(sent -> Thread.ofPlatform().daemon().name("gradus-console-" + operation).start(() -> {
                    try {
                        call.call();
                    } catch (Exception e) {
                        // The console is going away; the host reports what failed among its problems.
                    }
                }));
    }

    private static boolean force(RoutingContext ctx) {
        String raw = ctx.queryParams().get("force");
        if (raw == null || raw.equalsIgnoreCase("false")) {
            return false;
        }
        if (raw.isEmpty() || raw.equalsIgnoreCase("true")) {
            return true;
        }
        throw new BadRequest("force must be true or false, was '" + raw + "'");
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

    /**
     * Runs a blocking bundle operation on a worker thread and answers with its result as JSON
     * ({@link Accepted}: with 202).
     */
    private void blocking(RoutingContext ctx, int status, Callable<Object> operation) {
        vertx.executeBlocking(operation, false).onComplete(result -> {
            if (result.failed()) {
                ctx.fail(result.cause());
            } else if (result.result() instanceof Accepted accepted) {
                reply(ctx, 202, JsonView.of(accepted.bundle()));
            } else {
                reply(ctx, status, JsonView.of(result.result()));
            }
        });
    }

    /** A bundle operation that was accepted and waits (an update waiting for the jobs using the bundle). */
    private record Accepted(BundleInfo bundle) {}

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
        } else if (failure instanceof GenerationException e) {
            error(ctx, GenerationRoutes.status(e), e.getMessage());
        } else if (failure instanceof BadRequest e) {
            error(ctx, 400, e.getMessage());
        } else if (failure instanceof NotFound e) {
            error(ctx, 404, e.getMessage());
        } else if (status == 413) {
            error(ctx, 413, "the upload is larger than the console's limit of " + (settings.uploadLimit() >> 20)
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

    /** A file of the page: {@code name.js} or {@code name.css}, nothing else (no paths). */
    private static String asset(String file) {
        if (!file.matches("[a-z][a-z0-9-]*\\.(js|css)")) {
            throw new NotFound("no such page file: " + file);
        }
        return file;
    }

    private static void page(RoutingContext ctx, String resource) {
        serve(ctx, ConsoleRoutes.class.getClassLoader().getResource(resource), resource);
    }

    /** A file of a webjar embedded in the bundle, found whatever its version. */
    private void vendor(RoutingContext ctx, String root, String file) {
        Enumeration<URL> found = consoleBundle.findEntries(root, file, true);
        serve(ctx, found == null || !found.hasMoreElements() ? null : found.nextElement(), root + "/**/" + file);
    }

    private static void serve(RoutingContext ctx, URL url, String name) {
        if (url == null) {
            error(ctx, 404, "missing console resource " + name);
            return;
        }
        try (InputStream in = url.openStream()) {
            ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, contentType(name))
                    .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
                    .putHeader("X-Content-Type-Options", "nosniff")
                    .end(Buffer.buffer(in.readAllBytes()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String contentType(String name) {
        if (name.endsWith(".js")) {
            return "text/javascript; charset=utf-8";
        }
        if (name.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        if (name.endsWith(".md")) {
            return "text/plain; charset=utf-8";
        }
        return "text/html; charset=utf-8";
    }

    /** A page file that is not there: answered with 404 and the message. */
    private static final class NotFound extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotFound(String message) {
            super(message);
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
