package io.gradus.console.internal;

import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobService;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.technique.ConfigSchemas;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The job routes of the console's API, over the host's {@link JobService}:
 * <pre>
 *   GET   /api/jobs                 every job
 *   GET   /api/jobs/schema          the hyper-parameters (a job file's hyper block) as a JSON Schema
 *   GET   /api/jobs/{id}            one job: spec as run, state, step, loss, ETA, techniques, output
 *   GET   /api/jobs/{id}/metrics    metrics.jsonl and eval.jsonl as JSON, for charts after a reload
 *   POST  /api/jobs                 submit a job file (JSON or YAML body); ?base=DIR resolves its
 *                                   relative paths, ?resume, ?overwrite, ?allowChanges as on the command line
 *   POST  /api/jobs/{id}/cancel     cancel (a running job checkpoints first)
 *   POST  /api/jobs/{id}/resume     queue a cancelled, interrupted or failed job again
 *   PATCH /api/jobs/{id}            steer a running job: {"learningRate": x} and friends
 * </pre>
 * Changes need the token (checked by {@link ConsoleRoutes} for every mutating method); failures
 * are {@link io.gradus.api.job.JobException}s, turned into JSON errors by the console's failure handler.
 */
final class JobRoutes {

    private final JobService jobs;
    private final ConfigSchemas schemas;
    private final Blocking blocking;
    private final BiConsumer<RoutingContext, Consumer<Buffer>> rawBody;

    /** Runs a call off the event loop and answers with its result as JSON and {@code status}. */
    @FunctionalInterface
    interface Blocking {
        void run(RoutingContext ctx, int status, Callable<Object> call);
    }

    /** @param rawBody reads a request's whole body, whatever its content type, within the console's limit */
    JobRoutes(JobService jobs, ConfigSchemas schemas, Blocking blocking, BiConsumer<RoutingContext, Consumer<Buffer>> rawBody) {
        this.jobs = jobs;
        this.schemas = schemas;
        this.blocking = blocking;
        this.rawBody = rawBody;
    }

    void register(Router router) {
        router.get("/api/jobs").handler(ctx -> blocking.run(ctx, 200, jobs::jobs));
        router.get("/api/jobs/schema").handler(ctx -> ConsoleRoutes.reply(ctx, 200, JsonSchemaView.of(
                schemas.of(Hyperparameters.class), "hyper-parameters", "Optimisation settings of a job (its hyper block).")));
        router.get("/api/jobs/:job").handler(ctx -> blocking.run(ctx, 200, () -> jobs.job(id(ctx))
                .orElseThrow(() -> new JobException(JobException.Reason.NOT_FOUND, "there is no job with id " + id(ctx)))));
        router.get("/api/jobs/:job/metrics").handler(ctx -> blocking.run(ctx, 200, () -> jobs.history(id(ctx))));
        router.post("/api/jobs").handler(ctx -> rawBody.accept(ctx, body -> blocking.run(ctx, 201, () -> {
            JobSpec spec = jobs.read(body.toString(StandardCharsets.UTF_8), "request body");
            return jobs.submit(spec, new SubmitOptions(ctx.queryParams().get("base"), flag(ctx, "resume"),
                    flag(ctx, "overwrite"), flag(ctx, "allowChanges")));
        })));
        router.post("/api/jobs/:job/cancel").handler(ctx -> blocking.run(ctx, 200, () -> jobs.cancel(id(ctx))));
        router.post("/api/jobs/:job/resume").handler(ctx -> blocking.run(ctx, 200, () -> jobs.resume(id(ctx))));
        router.patch("/api/jobs/:job").handler(ctx -> rawBody.accept(ctx, body -> {
            JsonObject changes;
            try {
                changes = body.length() == 0 ? new JsonObject() : new JsonObject(body);
            } catch (DecodeException e) {
                ConsoleRoutes.error(ctx, 400, "the body must be a JSON object of settings, e.g. {\"learningRate\": 1e-4}");
                return;
            }
            blocking.run(ctx, 200, () -> jobs.steer(id(ctx), changes.getMap()));
        }));
    }

    private static String id(RoutingContext ctx) {
        return ctx.pathParam("job");
    }

    private static boolean flag(RoutingContext ctx, String name) {
        String value = ctx.queryParams().get(name);
        return value != null && (value.isEmpty() || value.equalsIgnoreCase("true"));
    }
}
