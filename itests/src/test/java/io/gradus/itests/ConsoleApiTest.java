package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.gradus.api.generation.GeneratedToken;
import io.gradus.api.generation.GenerationRequest;
import io.gradus.api.generation.GenerationResult;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.generation.GenerationSettings;
import io.gradus.api.generation.ModelSource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The console's API for the page: schemas, generation, bundle details, the Host check")
class ConsoleApiTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    Path dir;

    /** The status line's code of a raw request with this Host header. */
    private static int statusWithHost(String host) throws Exception {
        var url = HOST.url("/api/bundles");
        try (Socket socket = new Socket(url.getHost(), url.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET /api/bundles HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String status = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return Integer.parseInt(status.split(" ")[1]);
        }
    }

    @Test
    @DisplayName("refuses a request whose Host header is not the console's address (DNS rebinding), with the port checked too")
    void hostHeader() throws Exception {
        int port = HOST.url("/").getPort();
        assertThat(statusWithHost("127.0.0.1:" + port)).isEqualTo(200);
        assertThat(statusWithHost("localhost:" + port)).isEqualTo(200);
        assertThat(statusWithHost("attacker.example:" + port)).isEqualTo(403);
        assertThat(statusWithHost("127.0.0.1:" + (port + 1))).isEqualTo(403);
        assertThat(statusWithHost("10.1.2.3:" + port)).as("another address, bound to loopback").isEqualTo(403);

        JsonNode console = HOST.send("GET", "/api/console", null, null).json();
        assertThat(console.path("loopback").asBoolean()).isTrue();
        assertThat(console.path("tokenFile").asText()).isEqualTo(HOST.host().consoleTokenFile().toAbsolutePath().toString());
        assertThat(HOST.send("POST", "/api/console/token", null, "wrong").status()).isEqualTo(401);
        var right = HOST.http().send(HttpRequest.newBuilder(HOST.url("/api/console/token")).POST(HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer " + HOST.token()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(right.statusCode()).isEqualTo(204);
    }

    @Test
    @DisplayName("README's sample job: every tuner and objective line it shows (the alternatives too) names settings its technique has, and its hyper keys are the job schema's")
    void readmeSampleJob() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("..", "README.md"));
        int start = lines.indexOf("```yaml");
        assertThat(start).as("README.md's sample job").isNotNegative();
        List<String> block = lines.subList(start + 1, lines.subList(start + 1, lines.size()).indexOf("```") + start + 1);
        YAMLMapper yaml = new YAMLMapper();
        List<String> checked = new ArrayList<>();
        for (String line : block) {
            // The alternatives are comments ("# or: tuner: {...}", "#     objective: {...}"), each with its own comment after it.
            String text = line.replaceFirst("^#\\s*(or:)?\\s*", "").replaceFirst("\\s+#.*$", "");
            if (!text.startsWith("tuner: {") && !text.startsWith("objective: {")) {
                continue;
            }
            String family = text.substring(0, text.indexOf(':'));
            JsonNode technique = yaml.readTree(text).path(family);
            String name = technique.path("name").asText();
            var reply = HOST.send("GET", "/api/techniques/" + family + "/" + name + "/schema", null, null);
            assertThat(reply.status()).as(family + " " + name + " in README's sample job").isEqualTo(200);
            assertSettings(technique.path("config"), reply.json(), family + " " + name);
            checked.add(family + " " + name);
        }
        assertThat(checked).containsExactly("tuner full", "objective pretrain", "tuner lora", "tuner adapters", "tuner qlora",
                "objective sft", "objective reward", "objective dpo", "objective ppo");

        JsonNode job = yaml.readTree(String.join("\n", block));
        JsonNode hyper = HOST.send("GET", "/api/jobs/schema", null, null).json();
        job.path("hyper").fieldNames().forEachRemaining(key ->
                assertThat(hyper.path("properties").has(key)).as("hyper." + key + " in README's sample job").isTrue());
    }

    /** Every key of {@code config} is a property of {@code schema}, and so on into nested settings that have their own. */
    private static void assertSettings(JsonNode config, JsonNode schema, String where) {
        config.properties().forEach(setting -> {
            JsonNode property = schema.path("properties").path(setting.getKey());
            assertThat(property.isMissingNode()).as(where + ": setting " + setting.getKey()).isFalse();
            if (setting.getValue().isObject() && property.has("properties")) {
                assertSettings(setting.getValue(), property, where + "." + setting.getKey());
            }
        });
    }

    @Test
    @DisplayName("serves each technique's settings, the hyper-parameters and the generation settings as JSON Schemas with defaults and bounds")
    void schemas() throws Exception {
        JsonNode lora = HOST.send("GET", "/api/techniques/tuner/lora/schema", null, null).json();
        assertThat(lora.path("$schema").asText()).isEqualTo("https://json-schema.org/draft/2020-12/schema");
        assertThat(lora.path("title").asText()).isEqualTo("tuner lora " + HOST.bundle("io.gradus.plugin.lora").orElseThrow().version());
        JsonNode r = lora.path("properties").path("r");
        assertThat(r.path("type").asText()).isEqualTo("integer");
        assertThat(r.path("default").asInt()).isEqualTo(8);
        assertThat(r.path("minimum").asDouble()).isEqualTo(1.0);
        assertThat(lora.path("properties").path("loraDropout").path("exclusiveMaximum").asDouble()).isEqualTo(1.0);
        assertThat(lora.path("properties").path("targetModules").path("items").path("type").asText()).isEqualTo("string");
        assertThat(lora.path("properties").path("targetModules").path("default").toString()).isEqualTo("[\"q_proj\",\"v_proj\"]");
        assertThat(lora.path("additionalProperties").asBoolean(true)).isFalse();

        JsonNode pretrain = HOST.send("GET", "/api/techniques/objective/pretrain/schema", null, null).json();
        assertThat(pretrain.path("properties").size()).isZero();
        JsonNode center = HOST.send("GET", "/api/techniques/objective/reward/schema", null, null).json()
                .path("properties").path("centerRewardsCoefficient");
        assertThat(center.path("type").asText()).isEqualTo("number");
        assertThat(center.path("minimum").asDouble()).isEqualTo(0.0);
        assertThat(center.path("description").asText()).contains("centring term");
        assertThat(HOST.send("GET", "/api/techniques/tuner/nothing/schema", null, null).status()).isEqualTo(404);
        assertThat(HOST.send("GET", "/api/techniques/tuner/lora/schema?version=[9.0,10.0)", null, null).status()).isEqualTo(404);
        assertThat(HOST.send("GET", "/api/techniques/widget/lora/schema", null, null).status()).isEqualTo(400);

        JsonNode hyper = HOST.send("GET", "/api/jobs/schema", null, null).json();
        assertThat(hyper.path("properties").path("schedule").path("enum").toString()).isEqualTo("[\"cosine\",\"linear\",\"constant\"]");
        assertThat(hyper.path("properties").path("steps").path("default").asInt()).isEqualTo(100);
        JsonNode generation = HOST.send("GET", "/api/generate/schema", null, null).json();
        assertThat(generation.path("properties").path("topP").path("exclusiveMinimum").asDouble()).isEqualTo(0.0);
        assertThat(generation.path("properties").path("maxNewTokens").path("default").asInt()).isEqualTo(64);
    }

    @Test
    @DisplayName("describes every setting of the built-in techniques (@Setting), nested records included")
    void everySettingDescribed() throws Exception {
        for (String technique : List.of("tuner/full", "tuner/lora", "tuner/qlora", "tuner/adapters", "objective/sft",
                "objective/reward", "objective/pretrain")) {
            JsonNode schema = HOST.send("GET", "/api/techniques/" + technique + "/schema", null, null).json();
            assertThat(schema.path("title").asText()).as(technique).startsWith(technique.replace('/', ' '));
            assertDescribed(technique, schema);
        }
        JsonNode qlora = HOST.send("GET", "/api/techniques/tuner/qlora/schema", null, null).json();
        assertThat(qlora.at("/properties/blockSize/minimum").asDouble()).isEqualTo(32.0);
        assertThat(qlora.at("/properties/lora/properties/r/description").asText()).isEqualTo("Rank of the update B·A.");
        JsonNode adapters = HOST.send("GET", "/api/techniques/tuner/adapters/schema", null, null).json();
        assertThat(adapters.at("/properties/nonLinearity/enum").toString())
                .isEqualTo("[\"swish\",\"silu\",\"relu\",\"gelu\",\"gelu_new\"]");
        assertThat(adapters.at("/properties/dropout/exclusiveMaximum").asDouble()).isEqualTo(1.0);
    }

    private static void assertDescribed(String where, JsonNode schema) {
        schema.path("properties").properties().forEach(property -> {
            assertThat(property.getValue().path("description").asText()).as(where + "." + property.getKey()).isNotBlank();
            assertDescribed(where + "." + property.getKey(), property.getValue());
        });
    }

    @Test
    @DisplayName("a technique's schema for ?version=: one version is exactly that version, a range the highest installed in it")
    void schemaOfAVersion() throws Exception {
        HOST.withTwoSampleVersions(() -> {
            String schema = "/api/techniques/tuner/sample/schema";
            assertThat(HOST.send("GET", schema + "?version=1.0.0", null, null).json().path("title").asText())
                    .as("exactly 1.0.0, not OSGi's 1.0.0 or newer").isEqualTo("tuner sample 1.0.0");
            assertThat(HOST.send("GET", schema + "?version=%5B1.0.0,1.0.0%5D", null, null).json().path("title").asText())
                    .isEqualTo("tuner sample 1.0.0");
            assertThat(HOST.send("GET", schema + "?version=%5B1.0,2.0)", null, null).json().path("title").asText())
                    .isEqualTo("tuner sample 1.1.0");
            assertThat(HOST.send("GET", schema, null, null).json().path("title").asText()).isEqualTo("tuner sample 1.1.0");
            RunningHost.Response missing = HOST.send("GET", schema + "?version=1.0.5", null, null);
            assertThat(missing.status()).isEqualTo(404);
            assertThat(missing.json().path("error").asText())
                    .isEqualTo("no tuner 'sample' 1.0.5 is installed (installed: 1.0.0, 1.1.0)");
            assertThat(HOST.send("GET", schema + "?version=one", null, null).status()).isEqualTo(400);
        });
    }

    @Test
    @DisplayName("streams a generation as server-sent events, token by token, exactly what the generation service produces")
    void generation() throws Exception {
        TinyJob.write(dir);
        String body = "{\"model\": {\"base\": " + RunningHost.JSON.writeValueAsString(dir.resolve("base").toString())
                + "}, \"prompt\": \"the cat\", \"settings\": {\"maxNewTokens\": 12, \"temperature\": 0.8, \"seed\": 3}}";
        var response = HOST.http().send(HttpRequest.newBuilder(HOST.url("/api/generate"))
                .header("Authorization", "Bearer " + HOST.token()).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofLines());
        List<String> lines = response.body().toList();
        assertThat(response.statusCode()).as(() -> String.join("\n", lines)).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("text/event-stream");
        List<String> types = new ArrayList<>();
        List<JsonNode> data = new ArrayList<>();
        lines.forEach(line -> {
            if (line.startsWith("event: ")) {
                types.add(line.substring(7));
            } else if (line.startsWith("data: ")) {
                try {
                    data.add(RunningHost.JSON.readTree(line.substring(6)));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        });

        GenerationService service = HOST.host().awaitService(GenerationService.class, null, Duration.ofSeconds(5)).orElseThrow();
        List<GeneratedToken> expected = new ArrayList<>();
        GenerationResult result = service.generate(new GenerationRequest(new ModelSource(dir.resolve("base").toString(), null, null),
                "the cat", null, new GenerationSettings(12, 0.8, null, null, 3L)), expected::add);
        assertThat(types).hasSize(expected.size() + 1);
        assertThat(types.subList(0, expected.size())).containsOnly("token");
        assertThat(types.getLast()).isEqualTo("done");
        assertThat(data.subList(0, expected.size())).extracting(d -> d.path("id").asInt())
                .containsExactlyElementsOf(expected.stream().map(GeneratedToken::id).toList());
        assertThat(data.getLast().path("text").asText()).isEqualTo(result.text());
        assertThat(data.getLast().path("generatedTokens").asInt()).isEqualTo(expected.size()).isGreaterThan(1);

        assertThat(HOST.send("POST", "/api/generate", "{\"prompt\": \"x\", \"model\": {\"job\": \"404\"}}".getBytes(StandardCharsets.UTF_8),
                HOST.token(), "application/json").json().path("error").asText()).isEqualTo("there is no job with id 404");
        RunningHost.Response bad = HOST.send("POST", "/api/generate",
                "{\"prompt\": \"x\", \"settings\": {\"topP\": \"high\"}}".getBytes(StandardCharsets.UTF_8), HOST.token(), "application/json");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().path("error").asText()).isEqualTo("settings.topP must be a number, was high");
        assertThat(HOST.send("POST", "/api/generate", "{\"prompt\": \"x\"}".getBytes(StandardCharsets.UTF_8), null, "application/json")
                .status()).as("generation needs the token").isEqualTo(401);
    }

    @Test
    @DisplayName("shows a bundle in detail: headers, wired packages with versions and providers, services, and its DS components")
    void details() throws Exception {
        long console = HOST.bundle("io.gradus.console").orElseThrow().id();
        JsonNode details = HOST.send("GET", "/api/bundles/" + console + "/details", null, null).json();
        assertThat(details.path("headers").path("Bundle-SymbolicName").asText()).isEqualTo("io.gradus.console");
        assertThat(StreamSupport.stream(details.path("imports").spliterator(), false))
                .anySatisfy(p -> {
                    assertThat(p.path("name").asText()).isEqualTo("io.gradus.api.runtime");
                    assertThat(p.path("version").asText()).isEqualTo("1.2.0");
                    assertThat(p.path("bundles").get(0).asText()).startsWith("org.apache.felix.framework");
                });
        assertThat(StreamSupport.stream(details.path("components").spliterator(), false))
                .anySatisfy(c -> {
                    assertThat(c.path("name").asText()).isEqualTo("io.gradus.console.internal.ConsoleComponent");
                    assertThat(c.path("state").asText()).isEqualTo("ACTIVE");
                });
        assertThat(StreamSupport.stream(details.path("services").spliterator(), false))
                .anySatisfy(s -> assertThat(s.path("properties").path("gradus.console.url").asText()).startsWith("http://127.0.0.1:"));

        long lora = HOST.bundle("io.gradus.plugin.lora").orElseThrow().id();
        JsonNode loraDetails = HOST.send("GET", "/api/bundles/" + lora + "/details", null, null).json();
        assertThat(StreamSupport.stream(loraDetails.path("components").spliterator(), false))
                .anySatisfy(c -> assertThat(c.path("services").toString()).contains("io.gradus.api.technique.Tuner"));
        assertThat(HOST.send("GET", "/api/bundles/9999/details", null, null).status()).isEqualTo(404);
    }

    @Test
    @DisplayName("serves the page's modules and Chart.js with its licence, and nothing outside them")
    void pageFiles() throws Exception {
        for (String path : List.of("/", "/ui/app.js", "/ui/app.css", "/vendor/chart.js", "/vendor/chart.js/LICENSE.md")) {
            var response = HOST.http().send(HttpRequest.newBuilder(HOST.url(path)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(path).isEqualTo(200);
        }
        var chart = HOST.http().send(HttpRequest.newBuilder(HOST.url("/vendor/chart.js")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(chart.headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
        assertThat(chart.body()).contains("Chart.js v4.5.1");
        assertThat(HOST.send("GET", "/ui/..%2Fconsole%2Findex.html", null, null).status()).isEqualTo(404);
        assertThat(HOST.send("GET", "/ui/ConsoleRoutes.class", null, null).status()).isEqualTo(404);
    }
}
