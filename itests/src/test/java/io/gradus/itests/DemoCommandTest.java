package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every technique's demo, run as README.md shows it (with few steps), on a tiny untrained built-in
 * model made for the test: it trains, measures before and after, and writes summary.json in the
 * common schema with the parameters it trained.
 */
@DisplayName("gradus demo")
class DemoCommandTest {

    private static Path cache;
    private static String previousCache;

    @BeforeAll
    static void tinyBuiltInModel() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        previousCache = System.getProperty("gradus.cache");
        cache = Files.createTempDirectory("gradus-demo-test-");
        System.setProperty("gradus.cache", cache.toString());
        TinyBuiltInModel.write(cache);
    }

    @AfterAll
    static void restoreCache() {
        if (previousCache == null) {
            System.clearProperty("gradus.cache");
        } else {
            System.setProperty("gradus.cache", previousCache);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"lora", "adapters", "qlora"})
    @DisplayName("runs as README.md shows it and writes summary.json: losses before and after, parameters trained")
    void demo(String technique) throws Exception {
        String[] readme = ReadmeCommands.gradus(technique.equals("lora") ? "./gradus demo " : "./gradus demo " + technique,
                Map.of(), false);
        String[] args = Arrays.copyOf(readme, readme.length + 2);
        args[readme.length] = "--steps";
        args[readme.length + 1] = "3";
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        assertThat(exit).as(err.toString()).isZero();
        assertThat(out.toString()).contains("held-out answer loss: ", "expected: ");

        JsonNode summary = RunningHost.JSON.readTree(cache.resolve("demos").resolve(technique).resolve("summary.json").toFile());
        assertThat(summary.get("technique").asText()).isEqualTo(technique);
        double before = summary.at("/before/heldout_answer_loss").asDouble();
        double after = summary.at("/after/heldout_answer_loss").asDouble();
        assertThat(before).isPositive().isLessThan(Math.log(320) + 2);
        assertThat(after).as("the trained adapter is applied after").isPositive().isNotEqualTo(before);
        assertThat(summary.get("steps").asInt()).isEqualTo(3);
        assertThat(summary.get("wall_seconds").asDouble()).isPositive();
        assertThat(Path.of(summary.get("adapter").asText())).isDirectory();
        assertShownAnswers(summary.get("answers"), cache.resolve("demos").resolve(technique), out.toString());

        LlamaConfig config = LlamaModel.load(cache.resolve("models/wordnet/model")).config();
        int c = config.hiddenSize();
        int kv = config.numKvHeads() * config.headDim();
        int inner = config.intermediateSize();
        // LoRA r 16 on the seven projections: r·(in + out) each. Houlsby, reduction 4: 2·(2·C·b + b + C).
        long lora = 16L * ((c + c) + 2 * (c + kv) + (c + c) + 3 * (c + inner)) * config.numLayers();
        int b = c / 4;
        long adapters = 2L * (2L * c * b + b + c) * config.numLayers();
        long expected = technique.equals("adapters") ? adapters : lora;
        assertThat(summary.get("parameters_trained").asLong()).isEqualTo(expected);
        long total = summary.get("parameters_base").asLong();
        assertThat(total).isEqualTo(LlamaModel.load(cache.resolve("models/wordnet/model")).parameterCount());

        if (technique.equals("qlora")) {
            long linear = ((long) c * c * 2 + 2L * c * kv + 3L * c * inner) * config.numLayers();
            assertThat(summary.get("base_bytes_float").asLong()).isEqualTo(4 * total);
            assertThat(summary.get("base_bytes_nf4").asLong()).as("the linear weights in NF4, the rest in float")
                    .isCloseTo(4 * (total - linear) + Math.round(summary.get("nf4_bytes_per_weight").asDouble() * linear), within(1L));
            assertThat(summary.get("nf4_bytes_per_weight").asDouble()).isCloseTo(0.516, within(0.01));
            assertThat(summary.at("/float_base/heldout_answer_loss").asDouble()).isCloseTo(before, within(0.1));
            assertThat(out.toString()).contains("bytes in float32", "in NF4");
        }
    }

    /**
     * summary.json's answers: five common words whose questions and definitions are among the job's
     * training records, then the held-out file's first four, each with the answers the terminal printed.
     */
    private static void assertShownAnswers(JsonNode answers, Path demo, String terminal) throws Exception {
        List<JsonNode> train = Files.readAllLines(demo.resolve("data/train.jsonl")).stream().map(DemoCommandTest::readTree)
                .toList();
        List<String> heldOut = Files.readAllLines(demo.resolve("data/heldout.jsonl"));
        assertThat(answers).hasSize(9);
        for (int i = 0; i < answers.size(); i++) {
            JsonNode answer = answers.get(i);
            String question = answer.get("question").asText();
            assertThat(question).isEqualTo("What does the word '" + answer.get("word").asText() + "' mean (noun)?");
            String record = RunningHost.JSON.writeValueAsString(Map.of("messages", List.of(
                    Map.of("role", "user", "content", question),
                    Map.of("role", "assistant", "content", answer.get("expected").asText()))));
            boolean held = i >= 5;
            assertThat(answer.get("held_out").asBoolean()).isEqualTo(held);
            if (held) {
                assertThat(readTree(heldOut.get(i - 5))).isEqualTo(readTree(record));
            } else {
                assertThat(train).contains(readTree(record));
            }
            assertThat(terminal).contains(String.join(System.lineSeparator(), "Q: " + question,
                    "   expected: " + answer.get("expected").asText(), "   before:   " + answer.get("before").asText(),
                    "   after:    " + answer.get("after").asText()));
        }
    }

    /** A JSON line as a tree (records compare as trees: their key order is the writer's). */
    private static JsonNode readTree(String json) {
        try {
            return RunningHost.JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
