package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.event.GradusEvent;
import io.gradus.api.event.JobMessage;
import io.gradus.api.event.JobProgress;
import io.gradus.api.event.JobStateChanged;
import io.gradus.api.event.JobSteered;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Follows a job in the terminal: its messages line by line, a progress bar redrawn at every step,
 * until the job stops. Works the same on a running host (server-sent events) and an embedded one.
 */
final class JobFollower {

    /** How often the job's record is read when no event came (a missed event cannot hang the follower). */
    private static final long POLL_SECONDS = 2;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final JobClient client;
    private final PrintWriter out;

    JobFollower(JobClient client, PrintWriter out) {
        this.client = client;
        this.out = out;
    }

    /** Submits a job file's text and follows the job until it stops; returns its final record. */
    JobInfo submitAndFollow(String text, String source, SubmitOptions options) throws Exception {
        return startAndFollow(() -> client.submit(text, source, options),
                job -> "job " + job.id() + " (" + job.name() + ") submitted to " + client.where());
    }

    /**
     * Starts a job ({@code start} submits or resumes it), prints {@code said} of it, and follows it
     * until it stops. The events are subscribed to before the job starts, so none is missed.
     */
    JobInfo startAndFollow(Callable<JobInfo> start, Function<JobInfo, String> said) throws Exception {
        BlockingQueue<GradusEvent> events = new LinkedBlockingQueue<>();
        try (AutoCloseable subscription = client.events(events::add)) {
            JobInfo job = start.call();
            out.println(said.apply(job));
            return follow(job.id(), events);
        }
    }

    /** Submits a job built in code and follows it until it stops. */
    JobInfo run(JobSpec spec, SubmitOptions options) throws Exception {
        return submitAndFollow(JSON.writeValueAsString(spec), "job " + spec.name(), options);
    }

    /** The first and last training loss a finished job recorded. */
    double[] losses(JobInfo job) throws Exception {
        var metrics = client.history(job.id()).metrics().stream().filter(m -> m.get("loss") instanceof Number).toList();
        return metrics.isEmpty() ? new double[] {Double.NaN, Double.NaN}
                : new double[] {loss(metrics.getFirst()), loss(metrics.getLast())};
    }

    /** Follows a job that is already known (gradus jobs follow / resume). */
    JobInfo follow(String id) throws Exception {
        BlockingQueue<GradusEvent> events = new LinkedBlockingQueue<>();
        try (AutoCloseable subscription = client.events(events::add)) {
            return follow(id, events);
        }
    }

    private JobInfo follow(String id, BlockingQueue<GradusEvent> events) throws Exception {
        ProgressLine progress = new ProgressLine(out);
        boolean midLine = false;
        while (true) {
            GradusEvent event = events.poll(POLL_SECONDS, TimeUnit.SECONDS);
            if (event == null) {
                JobInfo job = client.job(id).orElseThrow();
                if (job.state().finished()) {
                    return job;
                }
                continue;
            }
            switch (event) {
                case JobProgress p when p.jobId().equals(id) -> {
                    progress.onStep(p);
                    midLine = p.step() != p.totalSteps();
                }
                case JobMessage m when m.jobId().equals(id) -> {
                    out.println((midLine ? "\n" : "") + m.text());
                    midLine = false;
                }
                case JobSteered s when s.jobId().equals(id) -> {
                    out.println((midLine ? "\n" : "") + "steered from step " + s.step() + ": " + s.changes());
                    midLine = false;
                }
                case JobStateChanged s when s.jobId().equals(id) && JobState.valueOf(s.state()).finished() -> {
                    if (midLine) {
                        out.println();
                    }
                    return client.job(id).orElseThrow();
                }
                default -> { }
            }
        }
    }

    /**
     * One line on how a job ended: steps and loss from its history, or its message.
     *
     * @return the command's exit code: 0 when it succeeded
     */
    int report(JobInfo job, PrintWriter err, String command) throws Exception {
        if (job.state() != JobState.SUCCEEDED) {
            err.println("gradus " + command + ": job " + job.id() + " " + job.state().name().toLowerCase(Locale.ROOT) + ": "
                    + job.message());
            return 1;
        }
        double[] losses = losses(job);
        if (Double.isNaN(losses[0])) {
            out.println(job.message());
        } else {
            out.printf(Locale.ROOT, "done: %d steps, loss %.4f -> %.4f; result in %s%n", job.step(), losses[0], losses[1],
                    job.result());
        }
        return 0;
    }

    private static double loss(Map<String, Object> line) {
        return ((Number) line.get("loss")).doubleValue();
    }
}
