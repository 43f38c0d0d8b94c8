package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {

    @TempDir
    Path dir;

    /**
     * GPT-2's byte-to-character table: printable bytes map to themselves, the others to code
     * points from 256 up, so every byte string is a string of visible characters.
     */
    static String byteChar(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int n = 0;
        for (int i = 0; i < b; i++) {
            boolean p = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF);
            if (!p) {
                n++;
            }
        }
        return String.valueOf((char) (256 + n));
    }

    /** A byte-level BPE tokenizer.json: 256 byte tokens, three merges, BOS/EOS special tokens. */
    private Path byteLevelBpe() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<|bos|>", "<|eos|>"};
        for (int i = 0; i < specials.length; i++) {
            added.addObject().put("id", 256 + 3 + i).put("content", specials[i]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<|bos|>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        post.putArray("pair");
        ObjectNode special = post.putObject("special_tokens").putObject("<|bos|>");
        special.put("id", "<|bos|>");
        special.putArray("ids").add(259);
        special.putArray("tokens").add("<|bos|>");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(byteChar(b), b);
        }
        vocab.put("he", 256);
        vocab.put("ll", 257);
        vocab.put("hell", 258);
        model.putArray("merges").add("h e").add("l l").add("he ll");
        Path file = dir.resolve("tokenizer.json");
        json.writeValue(file.toFile(), root);
        return file;
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
}
