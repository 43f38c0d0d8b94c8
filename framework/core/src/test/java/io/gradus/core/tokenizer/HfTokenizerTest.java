package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {

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
