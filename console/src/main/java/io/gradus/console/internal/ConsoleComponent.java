package io.gradus.console.internal;

import io.gradus.api.event.EventHub;
import io.gradus.api.event.Problem;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.job.JobService;
import io.gradus.api.runtime.BundleAdmin;
import io.gradus.api.technique.ConfigSchemas;
import io.gradus.api.technique.TechniqueCatalog;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.time.Instant;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;

/**
 * Runs the console's HTTP server while the host's services are there.
 *
 * <p>Settings come from framework properties set by the host: {@code gradus.console.host},
 * {@code gradus.console.port} (0 = any free port, -1 = no console), {@code gradus.console.token},
 * {@code gradus.console.token.file} (where the host stored it, shown by the page),
 * {@code gradus.console.upload.limit} (bytes, default 64 MiB) and
 * {@code gradus.console.generation.concurrency} (generations at once, default 2). Once listening, the console
 * registers its base URI as the service property {@code gradus.console.url}.
 */
@Component(immediate = true)
public final class ConsoleComponent {

    private static final long DEFAULT_UPLOAD_LIMIT = 64L << 20;
    private static final int DEFAULT_GENERATION_CONCURRENCY = 2;

    private final Vertx vertx;
    private final HttpServer server;
    private final ConsoleRoutes routes;
    private final ServiceRegistration<?> endpoint;

    @Activate
    public ConsoleComponent(
            BundleContext context,
            @Reference BundleAdmin bundles,
            @Reference TechniqueCatalog techniques,
            @Reference EventHub events,
            @Reference JobService jobs,
            @Reference GenerationService generation,
            @Reference ConfigSchemas schemas,
            @Reference ServiceComponentRuntime components)
            throws Exception {
        int port = Integer.parseInt(property(context, "gradus.console.port", "8080"));
        if (port < 0) {
            vertx = null;
            server = null;
            routes = null;
            endpoint = null;
            return;
        }
        String host = property(context, "gradus.console.host", "127.0.0.1");
        String token = context.getProperty("gradus.console.token");
        if (token == null || token.isBlank()) {
            throw new IllegalStateException("no gradus.console.token framework property: the host must set one");
        }
        long uploadLimit = number(context, "gradus.console.upload.limit", DEFAULT_UPLOAD_LIMIT);
        int generationConcurrency = (int) number(context, GenerationRoutes.CONCURRENCY, DEFAULT_GENERATION_CONCURRENCY);

        // Vert.x finds its service providers through the context class loader: make it this bundle's.
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(ConsoleComponent.class.getClassLoader());
        try {
            vertx = Vertx.vertx();
            routes = new ConsoleRoutes(vertx,
                    new ConsoleRoutes.Services(bundles, techniques, events, jobs, generation, schemas, components),
                    new ConsoleRoutes.Settings(host, token, context.getProperty("gradus.console.token.file"), uploadLimit,
                            generationConcurrency));
            try {
                server = vertx.createHttpServer()
                        .requestHandler(routes.router())
                        .listen(port, host)
                        .await(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                routes.close();
                vertx.close();
                String message = "cannot listen on " + host + ":" + port + ": " + e.getMessage()
                        + (port != 0 ? " (is another Gradus running? try --port 0 or another port)" : "");
                events.publish(new Problem(Instant.now(), "console", message));
                throw new IllegalStateException(message, e);
            }
        } finally {
            thread.setContextClassLoader(previous);
        }
        URI url = URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.actualPort() + "/");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("gradus.console.url", url.toString());
        endpoint = context.registerService(URI.class, url, props);
    }

    private static String property(BundleContext context, String key, String fallback) {
        String value = context.getProperty(key);
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    private static long number(BundleContext context, String key, long fallback) {
        String value = property(context, key, Long.toString(fallback));
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, was '" + value + "'");
        }
    }

    @Deactivate
    void deactivate() throws Exception {
        if (endpoint != null) {
            endpoint.unregister();
        }
        if (routes != null) {
            routes.close();
        }
        if (vertx != null) {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }
}
