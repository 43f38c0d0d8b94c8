package io.gradus.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.gradus.api.event.GradusEvent;
import io.gradus.api.event.JobMessage;
import io.gradus.api.event.JobProgress;
import io.gradus.api.event.JobStateChanged;
import io.gradus.api.event.JobSteered;
import io.gradus.api.event.Problem;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobHistory;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.SubmitOptions;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** The running host's job service, over its console API ({@link JobClient} when a host runs). */
final class RemoteJobs implements JobClient {

    /** The events a job client follows, by their SSE event name. */
    private static final Map<String, Class<? extends GradusEvent>> EVENTS = Map.of(
            "job.progress", JobProgress.class,
            "job.state", JobStateChanged.class,
            "job.log", JobMessage.class,
            "job.steered", JobSteered.class,
            "problem", Problem.class);

    private static final ObjectMapper JSON = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final HostConnection host;
    private final HttpClient http = HttpClient.newHttpClient();

    RemoteJobs(HostConnection host) {
        this.host = host;
    }

    @Override
    public String where() {
        return "the running host at " + host.console();
    }

    @Override
    public boolean embedded() {
        return false;
    }

    /** Reads the console's server-sent events on a background thread. */
    @Override
    public AutoCloseable events(Consumer<GradusEvent> listener) throws Exception {
        CompletableFuture<HttpResponse<Stream<String>>> response = http.sendAsync(
                HttpRequest.newBuilder(host.api("events")).GET().build(), HttpResponse.BodyHandlers.ofLines());
        HttpResponse<Stream<String>> connected = response.get();
        Thread reader = Thread.ofVirtual().name("gradus-events").start(() -> {
            String[] type = {null};
            try (Stream<String> lines = connected.body()) {
                lines.forEach(line -> {
                    if (line.startsWith("event: ")) {
                        type[0] = line.substring(7).strip();
                    } else if (line.startsWith("data: ") && type[0] != null && EVENTS.containsKey(type[0])) {
                        try {
                            listener.accept(JSON.readValue(line.substring(6), EVENTS.get(type[0])));
                        } catch (IOException e) {
                            // An event this client cannot read is skipped; the job's record still tells its state.
                        }
                    }
                });
            } catch (RuntimeException e) {
                // The stream ends when the host stops or the handle is closed.
            }
        });
        return () -> {
            reader.interrupt();
            connected.body().close();
        };
    }

    @Override
    public JobInfo submit(String text, String source, SubmitOptions options) throws Exception {
        String query = "?base=" + URLEncoder.encode(options.baseDir(), StandardCharsets.UTF_8)
                + (options.resume() ? "&resume=true" : "") + (options.overwrite() ? "&overwrite=true" : "")
                + (options.allowChanges() ? "&allowChanges=true" : "");
        try {
            return call("POST", "jobs" + query, text, JobInfo.class);
        } catch (JobException e) {
            // The host read the text as a "request body": say which file it came from.
            throw new JobException(e.reason(), e.getMessage().replace("request body", source), e);
        }
    }

    @Override
    public List<JobInfo> jobs() throws Exception {
        return call("GET", "jobs", null, new TypeReference<List<JobInfo>>() {});
    }

    @Override
    public Optional<JobInfo> job(String id) throws Exception {
        try {
            return Optional.of(call("GET", "jobs/" + id, null, JobInfo.class));
        } catch (JobException e) {
            if (e.reason() == JobException.Reason.NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public JobInfo cancel(String id) throws Exception {
        return call("POST", "jobs/" + id + "/cancel", "", JobInfo.class);
    }

    @Override
    public JobInfo resume(String id) throws Exception {
        return call("POST", "jobs/" + id + "/resume", "", JobInfo.class);
    }

    @Override
    public JobInfo steer(String id, Map<String, Object> changes) throws Exception {
        return call("PATCH", "jobs/" + id, JSON.writeValueAsString(changes), JobInfo.class);
    }

    @Override
    public JobHistory history(String id) throws Exception {
        return call("GET", "jobs/" + id + "/metrics", null, JobHistory.class);
    }

    @Override
    public void close() {
        http.close();
    }

    private <T> T call(String method, String path, String body, Class<T> type) throws Exception {
        return JSON.treeToValue(call(method, path, body), type);
    }

    private <T> T call(String method, String path, String body, TypeReference<T> type) throws Exception {
        return JSON.readValue(JSON.treeAsTokens(call(method, path, body)), type);
    }

    /** One API call; an error answer becomes a {@link JobException} with the host's message. */
    private JsonNode call(String method, String path, String body) throws Exception {
        URI uri = host.api(path);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (!method.equals("GET")) {
            request.header("Authorization", "Bearer " + host.token());
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = response.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(response.body());
        if (response.statusCode() >= 400) {
            String message = json.path("error").asText("HTTP " + response.statusCode() + " from " + uri);
            throw new JobException(switch (response.statusCode()) {
                case 404 -> JobException.Reason.NOT_FOUND;
                case 409 -> JobException.Reason.CONFLICT;
                default -> JobException.Reason.INVALID;
            }, message);
        }
        return json;
    }
}
