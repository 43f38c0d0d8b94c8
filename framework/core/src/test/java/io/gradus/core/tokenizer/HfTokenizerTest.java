package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HfTokenizerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /**
     * A byte-level BPE tokenizer.json with hand-chosen merges (h+e, l+l, he+ll), written by the
     * trainer's writer: 256 byte tokens, ids 256–258 for the merges, 259 and up for the special tokens.
     */
    private Path byteLevelBpe() throws Exception {
        List<String> vocab = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            vocab.add(ByteLevel.symbol(b));
        }
        vocab.addAll(List.of("he", "ll", "hell"));
        BpeTrainer.write(new BpeTrainer.Trained(vocab, List.of("h e", "l l", "he ll")), dir);
        return dir.resolve("tokenizer.json");
    }

    @Test
    @DisplayName("encodes with merges and the BOS post-processor, and decodes back")
    void encodeDecode() throws Exception {
        try (HfTokenizer tokenizer = HfTokenizer.load(byteLevelBpe())) {
            int[] ids = tokenizer.encode("hello");
            assertThat(ids).containsExactly(259, 258, 'o');
            assertThat(tokenizer.encodePlain("hello")).containsExactly(258, 'o');
            assertThat(tokenizer.decode(ids, true)).isEqualTo("hello");
            assertThat(tokenizer.decode(ids, false)).isEqualTo("<|bos|>hello");
        }
    }

    @Test
    @DisplayName("long texts are neither truncated nor padded (the binding's defaults cut at 512 tokens; found by the parity test)")
    void noTruncation() throws Exception {
        String text = "hello ".repeat(1000);
        try (HfTokenizer tokenizer = HfTokenizer.load(byteLevelBpe())) {
            // "hello" is two tokens (hell, o), each " hello" after the first three (Ġ, hell, o).
            assertThat(tokenizer.encodePlain(text)).hasSize(2 + 999 * 3 + 1);
            assertThat(tokenizer.encode(text)).hasSize(1 + 2 + 999 * 3 + 1);
            assertThat(tokenizer.encodePlain("he")).containsExactly(256);
        }
    }

    @Test
    @DisplayName("arbitrary UTF-8 text round-trips through encode and decode")
    void roundTripsArbitraryText() throws Exception {
        Random random = new Random(5);
        try (HfTokenizer tokenizer = HfTokenizer.load(byteLevelBpe())) {
            for (int trial = 0; trial < 200; trial++) {
                StringBuilder text = new StringBuilder();
                int length = random.nextInt(20);
                for (int i = 0; i < length; i++) {
                    int kind = random.nextInt(4);
                    int codePoint = switch (kind) {
                        case 0 -> 'a' + random.nextInt(26);
                        case 1 -> " \n\t.,hel".charAt(random.nextInt(8));
                        case 2 -> 0xE0 + random.nextInt(0x100);       // accented Latin, Cyrillic...
                        default -> 0x1F300 + random.nextInt(0x200);   // emoji, outside the BMP
                    };
                    text.appendCodePoint(codePoint);
                }
                String s = text.toString();
                assertThat(tokenizer.decode(tokenizer.encodePlain(s), true)).as("round trip of %s", s).isEqualTo(s);
            }
        }
    }

    @Test
    @DisplayName("a missing or malformed tokenizer.json is an error naming the file")
    void errors() throws Exception {
        assertThatThrownBy(() -> HfTokenizer.load(dir)).hasMessageContaining("tokenizer.json");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": 42}");
        assertThatThrownBy(() -> HfTokenizer.load(dir)).hasMessageContaining("tokenizer.json");
    }

    /** The test tokenizer's JSON with one part replaced. */
    private Path edited(String pointer, String json) throws Exception {
        ObjectNode root = (ObjectNode) JSON.readTree(byteLevelBpe().toFile());
        JsonNode value = JSON.readTree(json);
        String parent = pointer.substring(0, pointer.lastIndexOf('/'));
        String field = pointer.substring(pointer.lastIndexOf('/') + 1);
        ((ObjectNode) (parent.isEmpty() ? root : root.at(parent))).set(field, value);
        Path file = dir.resolve("edited.json");
        JSON.writeValue(file.toFile(), root);
        return file;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = " => ", value = {
        // The library read these, then panicked inside the native call, which aborts the JVM.
        "/post_processor/single/0/SpecialToken/id => \"<|nope|>\" => uses the special token \"<|nope|>\", which its special_tokens do not define",
        "/post_processor/special_tokens/<|bos|>/tokens => [\"a\", \"b\"] => has 1 ids but 2 tokens",
        "/model/continuing_subword_prefix => \"##\" => does not start with the model's continuing_subword_prefix \"##\"",
        // Read, then an ArithmeticException at the first encoding.
        "/model/vocab/hell => 2147483648 => token \"hell\" has id 2147483648",
        "/post_processor/special_tokens/<|bos|>/ids => [2147483648] => special token <|bos|> has id 2147483648",
        // Half a minute of loading.
        "/added_tokens/0/content => \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" => is 1025 characters long"})
    @DisplayName("a tokenizer.json the native library would crash on, misread or take minutes over is refused, naming the file (found by fuzzing)")
    void refusesWhatTheLibraryCannotTake(String pointer, String value, String message) throws Exception {
        Path file = edited(pointer, value);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThatThrownBy(() -> {
            try (HfTokenizer tokenizer = HfTokenizer.load(file)) {
                tokenizer.encode("hello");
            }
        }).isInstanceOf(IOException.class).hasMessageContaining(file.toString()).hasMessageContaining(message));
    }

    @Test
    @DisplayName("a tokenizer.json that is not JSON names the line and column (found by fuzzing)")
    void malformed() throws Exception {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\":\n {\"vocab\": [}}");
        assertThatThrownBy(() -> HfTokenizer.load(file)).isInstanceOf(IOException.class)
                .hasMessageContaining(file + ": not valid JSON: line 2, column 13");
    }
}
