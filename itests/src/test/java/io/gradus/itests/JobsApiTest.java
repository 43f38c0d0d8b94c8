package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Jobs in the running host, through the console's API and the command line")
class JobsApiTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    static Path dir;

    @BeforeAll
    static void data() throws Exception {
        TinyJob.write(dir);
    }

    private static RunningHost.Response submit(String yaml, String query) throws Exception {
        return HOST.send("POST", "/api/jobs?base=" + dir + query, yaml.getBytes(StandardCharsets.UTF_8), HOST.token());
    }

    @Test
    @DisplayName("a job submitted over REST shows its progress and state on the open event stream, and its metrics after")
    void submitAndWatch() throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        HttpResponse<Stream<String>> stream = HOST.http().send(HttpRequest.newBuilder(HOST.url("/api/events")).build(),
                HttpResponse.BodyHandlers.ofLines());
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                stream.body().forEach(lines::add);
            } catch (java.io.UncheckedIOException e) {
                // The test closes the stream when it is done with it.
            }
        });
        try {
            RunningHost.Response submitted = submit(TinyJob.yaml(6, "rest"), "");
            assertThat(submitted.status()).as(submitted.json().toString()).isEqualTo(201);
            String id = submitted.json().get("id").asText();
            JsonNode done = HOST.awaitJobEnd(id, 120);

            assertThat(done.get("state").asText()).as(done.toString()).isEqualTo("succeeded");
            assertThat(done.get("step").asInt()).isEqualTo(6);
            assertThat(done.at("/techniques/0/bundleSymbolicName").asText()).isEqualTo("io.gradus.plugin.full");
            assertThat(done.at("/spec/hyper/steps").asInt()).isEqualTo(6);
            assertThat(done.get("result").asText()).isEqualTo(dir.resolve("rest/model").toString());
            RunningHost.await("the last events arrive", 10, () -> lines.stream().anyMatch(l -> l.contains("\"SUCCEEDED\"")));
            assertThat(lines).anyMatch(l -> l.equals("event: job.progress"));
            assertThat(lines).filteredOn(l -> l.startsWith("data: ") && l.contains("\"jobId\":\"" + id + "\"")
                    && l.contains("\"state\"")).extracting(l -> l.replaceAll(".*\"state\":\"(\\w+)\".*", "$1"))
                    .containsSubsequence("QUEUED", "RUNNING", "SUCCEEDED");

            JsonNode history = HOST.send("GET", "/api/jobs/" + id + "/metrics", null, null).json();
            assertThat(history.get("metrics")).hasSize(6);
            assertThat(history.get("evals").size()).isPositive();
            JsonNode all = HOST.send("GET", "/api/jobs", null, null).json();
            assertThat(all.findValuesAsText("id")).contains(id);
        } finally {
            reader.interrupt();
            stream.body().close();
        }
    }

    @Test
    @DisplayName("bad submissions are refused with JSON errors that name the field or list what is installed")
    void refusals() throws Exception {
        RunningHost.Response misspelt = submit(TinyJob.yaml(2, "bad").replace("seqLen", "seqLength"), "");
        assertThat(misspelt.status()).isEqualTo(400);
        assertThat(misspelt.json().get("error").asText()).contains("request body: line 6", "unknown field 'seqLength'",
                "did you mean 'seqLen'?");
        RunningHost.Response missing = submit(TinyJob.yaml(2, "bad").replace("name: full", "name: qlora"), "");
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.json().get("error").asText()).contains("no tuner 'qlora'", "installed tuners:", "full 1.0.0");
        RunningHost.Response anonymous = HOST.send("POST", "/api/jobs", TinyJob.yaml(2, "x").getBytes(StandardCharsets.UTF_8), null);
        assertThat(anonymous.status()).isEqualTo(401);
        for (String[] call : new String[][] {{"POST", "/api/jobs/1/cancel"}, {"POST", "/api/jobs/1/resume"}, {"PATCH", "/api/jobs/1"}}) {
            assertThat(HOST.send(call[0], call[1], "{}".getBytes(StandardCharsets.UTF_8), null).status())
                    .as(call[0] + " " + call[1] + " without the token").isEqualTo(401);
        }
        RunningHost.Response relative =
                HOST.send("POST", "/api/jobs?base=relative", TinyJob.yaml(2, "bad").getBytes(StandardCharsets.UTF_8), HOST.token());
        assertThat(relative.status()).isEqualTo(400);
        assertThat(relative.json().get("error").asText()).contains("must be an absolute path");
        assertThat(HOST.send("GET", "/api/jobs/999", null, null).status()).isEqualTo(404);
        assertThat(HOST.send("POST", "/api/jobs/999/cancel", new byte[0], HOST.token()).status()).isEqualTo(404);
    }

    @Test
    @DisplayName("gradus train against the running host submits there: the job appears in GET /api/jobs")
    void trainCommandUsesTheRunningHost() throws Exception {
        Path job = dir.resolve("cli-job.yaml");
        Files.writeString(job, TinyJob.yaml(4, "cli"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String previous = System.getProperty("gradus.state");
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        System.setProperty("gradus.state", HOST.host().settings().stateDir().toString());
        try {
            int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute("train", job.toString());
            assertThat(exit).as(out + "\n" + err).isZero();
        } finally {
            if (previous == null) {
                System.clearProperty("gradus.state");
            } else {
                System.setProperty("gradus.state", previous);
            }
        }
        assertThat(out.toString()).contains("submitted to the running host at " + HOST.url("/"), "done: 4 steps");
        JsonNode all = HOST.send("GET", "/api/jobs", null, null).json();
        assertThat(all).anySatisfy(j -> {
            assertThat(j.get("output").asText()).isEqualTo(dir.resolve("cli").toString());
            assertThat(j.get("state").asText()).isEqualTo("succeeded");
        });
    }
}
