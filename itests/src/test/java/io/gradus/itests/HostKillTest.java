package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@code gradus start} in its own process, killed with SIGKILL in the middle of a job:
 * nothing gets a chance to checkpoint or record anything on the way out.
 */
@DisplayName("A host killed during a job")
class HostKillTest {

    @TempDir
    Path dir;

    private Process host;
    private final HttpClient http = HttpClient.newHttpClient();
    private URI console;
    private String token;

    @AfterEach
    void stopHost() throws InterruptedException {
        if (host != null && host.isAlive()) {
            host.destroy();
            host.waitFor();
        }
    }

    /** Starts {@code ./gradus start} on the built distribution with this test's deploy and state folders. */
    private void startHost() throws Exception {
        Path distribution = Path.of(System.getProperty("gradus.distribution")).toAbsolutePath();
        Path repository = distribution.getParent().getParent().getParent();
        Path deploy = dir.resolve("deploy");
        if (!Files.isDirectory(deploy)) {
            Files.createDirectories(deploy);
            try (Stream<Path> jars = Files.list(distribution.resolve("deploy"))) {
                for (Path jar : jars.toList()) {
                    Files.copy(jar, deploy.resolve(jar.getFileName()));
                }
            }
        }
        Path state = dir.resolve("var");
        Files.deleteIfExists(state.resolve("console.url"));
        // README's `./gradus start`, on a free port and this test's deploy folder.
        List<String> command = new ArrayList<>(List.of("bash", repository.resolve("gradus").toString()));
        command.addAll(List.of(ReadmeCommands.inline("./gradus start", Map.of(), false)));
        command.addAll(List.of("--port", "0", "--deploy", deploy.toString()));
        ProcessBuilder start = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("host-" + System.nanoTime() + ".log").toFile());
        start.environment().put("GRADUS_SKIP_BUILD", "1");
        start.environment().put("GRADUS_JAVA_OPTS", "-Dgradus.state=" + state);
        host = start.start();
        await("the host's console answers", 120, () -> Files.isRegularFile(state.resolve("console.url")));
        console = URI.create(Files.readString(state.resolve("console.url")).strip());
        token = Files.readString(state.resolve("console.token")).strip();
    }

    private JsonNode call(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(console.resolve(path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (!method.equals("GET")) {
            request.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = RunningHost.JSON.readTree(response.body());
        assertThat(response.statusCode()).as(method + " " + path + ": " + json).isLessThan(300);
        return json;
    }

    private String submit(int steps, String output) throws Exception {
        return call("POST", "api/jobs?base=" + dir, TinyJob.yaml(steps, output)).get("id").asText();
    }

    private JsonNode job(String id) {
        try {
            return call("GET", "api/jobs/" + id, null);
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private List<Double> losses(String id) throws Exception {
        List<Double> losses = new ArrayList<>();
        for (JsonNode line : call("GET", "api/jobs/" + id + "/metrics", null).get("metrics")) {
            if (line.has("loss")) {
                losses.add(line.get("loss").asDouble());
            }
        }
        return losses;
    }

    @Test
    @DisplayName("SIGKILL mid-job, restart: the job is shown interrupted, resumes from its last checkpoint, and its loss curve equals an uninterrupted run's")
    void killRestartResume() throws Exception {
        TinyJob.write(dir);
        startHost();
        String straight = submit(60, "straight");
        await("the uninterrupted run finishes", 180, () -> job(straight).get("state").asText().equals("succeeded"));
        List<Double> expected = losses(straight);

        String killed = submit(60, "killed");
        // Checkpoints every 6 steps: killed after step 25, the last checkpoint is step 24 (or later).
        await("the job is past step 25", 120, () -> job(killed).get("step").asInt() >= 25);
        host.destroyForcibly();
        host.waitFor();

        startHost();
        JsonNode after = job(killed);
        assertThat(after.get("state").asText()).isEqualTo("interrupted");
        assertThat(after.get("message").asText()).contains("resume it");
        call("POST", "api/jobs/" + killed + "/resume", "");
        await("the resumed job finishes", 180, () -> job(killed).get("state").asText().equals("succeeded"));

        assertThat(losses(killed)).as("every step once, with the uninterrupted run's values").isEqualTo(expected);
    }
}
