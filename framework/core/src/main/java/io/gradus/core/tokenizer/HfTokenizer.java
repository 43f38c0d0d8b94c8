package io.gradus.core.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.gradus.core.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (byte-level BPE as in Llama 3, SmolLM, Qwen2, GPT-2, with
 * added and special tokens), run by Hugging Face's own Rust implementation through DJL's binding:
 * token for token what Python's {@code tokenizers} produces. Works offline; the native library
 * ships inside the binding's jar.
 */
public final class HfTokenizer implements AutoCloseable {

    static {
        // Never let the binding look for a newer native library on the network.
        System.setProperty("ai.djl.offline", "true");
    }

    /** The longest added token accepted (see {@link #checkTokenizerJson}). */
    static final int MAX_ADDED_TOKEN = 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /**
     * Loads {@code tokenizer.json} from a model folder (or the file itself). Special tokens (BOS)
     * are added by {@link #encode} only as the tokenizer's post-processor says.
     */
    public static HfTokenizer load(Path folderOrFile) throws IOException {
        Path file = Files.isDirectory(folderOrFile) ? folderOrFile.resolve("tokenizer.json") : folderOrFile;
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no tokenizer.json");
        }
        checkTokenizerJson(file);
        try {
            // The binding truncates to 512 tokens and pads unless told not to: Hugging Face's own
            // tokenizers do neither (found by the parity test, HfTokenizerParityTest).
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(file,
                    Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false")), file);
        } catch (RuntimeException e) {
            throw new IOException(file + ": cannot load the tokenizer: " + e.getMessage(), e);
        }
    }

    /**
     * Reads {@code file} once as plain JSON before the native library does, to refuse with a clear
     * error what would otherwise end badly (each found by fuzzing):
     * <ul>
     *   <li>a syntax error: named by line and column, the way every other Gradus file error is;</li>
     *   <li>a post-processor template that uses a special token it does not define, or defines one
     *       with a different number of ids and tokens: Hugging Face's library reads such a file,
     *       then panics at the first encoding, and a panic inside the native call aborts the whole
     *       JVM (the host with it);</li>
     *   <li>a token id past 2^31 - 1 (the library's ids go to 2^32 - 1, Java's ints do not);</li>
     *   <li>a BPE merge whose second token lacks the model's {@code continuing_subword_prefix}: the
     *       library panics while loading;</li>
     *   <li>an added token longer than {@value #MAX_ADDED_TOKEN} characters: the library's loading
     *       time grows with the square of a non-normalized added token's length (8,000 characters
     *       take five seconds, 20,000 half a minute); real ones are a few dozen characters.</li>
     * </ul>
     * The scan streams over the file; only {@code added_tokens} and {@code post_processor} become trees.
     */
    private static void checkTokenizerJson(Path file) throws IOException {
        try (JsonParser parser = JSON.createParser(file.toFile())) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(file + ": expected a JSON object {...}, the tokenizer's description");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                if (field.equals("post_processor")) {
                    checkPostProcessor(file, JSON.readTree(parser));
                } else if (field.equals("model") && parser.currentToken() == JsonToken.START_OBJECT) {
                    checkModel(file, parser);
                } else if (field.equals("added_tokens") && parser.currentToken() == JsonToken.START_ARRAY) {
                    for (int index = 0; parser.nextToken() != JsonToken.END_ARRAY; index++) {
                        JsonNode token = JSON.readTree(parser);
                        checkId(file, "added token " + index, token.path("id"));
                        String content = token.path("content").asText("");
                        if (content.length() > MAX_ADDED_TOKEN) {
                            throw new IOException(file + ": added token " + index + " (id " + token.path("id") + ") is "
                                    + content.length() + " characters long; Gradus refuses added tokens longer than "
                                    + MAX_ADDED_TOKEN);
                        }
                    }
                } else {
                    parser.skipChildren();
                }
            }
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + JsonFiles.describe(e), e);
        }
    }

    /**
     * The model's vocabulary ids fit a Java int (the library allows up to 2^32 - 1), and with a
     * {@code continuing_subword_prefix} every merge's second token starts with it (the library cuts
     * the prefix off by its length, and panics when the token is shorter).
     */
    private static void checkModel(Path file, JsonParser parser) throws IOException {
        String prefix = null;
        List<String> seconds = new ArrayList<>(); // merges' second tokens, kept only while the prefix is unknown
        boolean prefixKnown = false;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            switch (field) {
                case "continuing_subword_prefix" -> {
                    prefix = parser.currentToken() == JsonToken.VALUE_STRING ? parser.getText() : null;
                    prefixKnown = true;
                    for (String second : seconds) {
                        checkMerge(file, prefix, second);
                    }
                    seconds.clear();
                }
                case "vocab" -> checkVocabIds(file, parser);
                case "merges" -> {
                    if (parser.currentToken() != JsonToken.START_ARRAY) {
                        parser.skipChildren();
                        break;
                    }
                    while (parser.nextToken() != JsonToken.END_ARRAY) {
                        // A merge is "a b" (older files) or ["a", "b"].
                        JsonNode merge = JSON.readTree(parser);
                        String second = merge.isArray() ? merge.path(1).asText("")
                                : merge.asText().substring(merge.asText().indexOf(' ') + 1);
                        if (prefixKnown) {
                            checkMerge(file, prefix, second);
                        } else {
                            seconds.add(second);
                        }
                    }
                }
                default -> parser.skipChildren();
            }
        }
    }

    private static void checkMerge(Path file, String prefix, String second) throws IOException {
        if (prefix != null && !second.startsWith(prefix)) {
            throw new IOException(file + ": the merge of " + JsonNodeFactory.instance.textNode(second)
                    + " does not start with the model's continuing_subword_prefix " + JsonNodeFactory.instance.textNode(prefix));
        }
    }

    private static void checkVocabIds(Path file, JsonParser parser) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            parser.skipChildren();
            return;
        }
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String token = parser.currentName();
            parser.nextToken();
            if (parser.currentToken() == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() != JsonParser.NumberType.INT) {
                throw new IOException(file + ": token " + JsonNodeFactory.instance.textNode(token) + " has id "
                        + parser.getText() + "; Gradus handles ids up to " + Integer.MAX_VALUE);
            }
            parser.skipChildren();
        }
    }

    private static void checkId(Path file, String what, JsonNode id) throws IOException {
        if (id.isIntegralNumber() && !id.canConvertToInt()) {
            throw new IOException(file + ": " + what + " has id " + id + "; Gradus handles ids up to " + Integer.MAX_VALUE);
        }
    }

    /** A template post-processor (alone or in a sequence) must define every special token it uses. */
    private static void checkPostProcessor(Path file, JsonNode processor) throws IOException {
        if (processor == null) {
            return;
        }
        for (JsonNode inner : processor.path("processors")) {
            checkPostProcessor(file, inner);
        }
        if (!"TemplateProcessing".equals(processor.path("type").asText())) {
            return;
        }
        JsonNode defined = processor.path("special_tokens");
        for (String template : new String[] {"single", "pair"}) {
            for (JsonNode piece : processor.path(template)) {
                JsonNode special = piece.path("SpecialToken");
                if (!special.isMissingNode() && !defined.has(special.path("id").asText())) {
                    throw new IOException(file + ": post_processor's " + template + " template uses the special token "
                            + special.path("id") + ", which its special_tokens do not define");
                }
            }
        }
        for (var entry : defined.properties()) {
            JsonNode token = entry.getValue();
            if (token.path("ids").size() != token.path("tokens").size()) {
                throw new IOException(file + ": post_processor's special token " + entry.getKey() + " has "
                        + token.path("ids").size() + " ids but " + token.path("tokens").size() + " tokens");
            }
            for (JsonNode id : token.path("ids")) {
                checkId(file, "post_processor's special token " + entry.getKey(), id);
            }
        }
    }

    /**
     * The tokens of {@code text}: ids and token strings, exactly as Hugging Face's
     * {@code tokenizers} gives them ({@code Tokenizer.encode(text, add_special_tokens=...)}:
     * {@code .ids}, {@code .tokens}). Special tokens written in the text are recognised as single
     * tokens; the ones the post-processor adds (BOS) are there only with {@code addSpecialTokens}.
     * Token strings are the vocabulary's, byte-level symbols included ({@code "Ġworld"}).
     *
     * @param ids the token ids
     * @param tokens the token strings, one per id
     */
    public record Tokens(int[] ids, List<String> tokens) {}

    /** The ids and token strings of {@code text}; see {@link Tokens}. */
    public Tokens tokenize(String text, boolean addSpecialTokens) {
        Encoding encoding = tokenizer.encode(text, addSpecialTokens, false);
        return new Tokens(toInts(encoding.getIds()), List.of(encoding.getTokens()));
    }

    /** Token ids of {@code text}, with the special tokens the tokenizer adds (e.g. BOS). */
    public int[] encode(String text) {
        return tokenize(text, true).ids();
    }

    /** Token ids of {@code text} without added special tokens. */
    public int[] encodePlain(String text) {
        return tokenize(text, false).ids();
    }

    /** The text of {@code ids}; special tokens are skipped when {@code skipSpecial}. */
    public String decode(int[] ids, boolean skipSpecial) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longs[i] = ids[i];
        }
        return tokenizer.decode(longs, skipSpecial);
    }

    public Path file() {
        return file;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
