package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {

    @TempDir
    Path dir;

    private static List<String> corpus() {
        List<String> texts = new ArrayList<>();
        Random random = new Random(1);
        String[] words = {"the", "definition", "of", "a", "word", "is", "its", "meaning", "language", "English"};
        for (int i = 0; i < 400; i++) {
            StringBuilder s = new StringBuilder();
            for (int w = 0; w < 8; w++) {
                s.append(w == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
            }
            texts.add(s.append('.').toString());
        }
        return texts;
    }

    @Test
    @DisplayName("the trained tokenizer loads in Hugging Face's implementation; frequent words become single tokens")
    void trainsALoadableTokenizer() throws Exception {
        BpeTrainer.Trained trained = BpeTrainer.train(corpus(), 320);
        // Ten distinct words: merging stops once every word is one token, before the 320 asked for.
        assertThat(trained.size()).isLessThan(320).isEqualTo(256 + trained.merges().size() + 5);
        BpeTrainer.write(trained, dir);

        try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            assertThat(tokenizer.encodePlain(" definition")).hasSize(1);
            assertThat(tokenizer.encodePlain("the meaning of a word")).hasSize(5);
            int[] withBos = tokenizer.encode("language");
            assertThat(withBos[0]).isEqualTo(trained.specialId(BpeTrainer.BOS));
            assertThat(tokenizer.decode(withBos, true)).isEqualTo("language");
        }
        assertThat(ChatTemplate.load(dir).family()).isEqualTo(ChatTemplate.Family.CHATML);
    }

    @Test
    @DisplayName("any UTF-8 text round-trips, including text the tokenizer never saw")
    void roundTripsArbitraryText() throws Exception {
        BpeTrainer.write(BpeTrainer.train(corpus(), 300), dir);
        Random random = new Random(9);
        try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            for (int trial = 0; trial < 300; trial++) {
                StringBuilder text = new StringBuilder();
                for (int i = random.nextInt(24); i > 0; i--) {
                    int kind = random.nextInt(5);
                    text.appendCodePoint(switch (kind) {
                        case 0 -> 'a' + random.nextInt(26);
                        case 1 -> " \n\t.,'-".charAt(random.nextInt(7));
                        case 2 -> 0x4E00 + random.nextInt(0x500);     // CJK
                        case 3 -> 0x1F600 + random.nextInt(0x50);     // emoji
                        default -> 0x00C0 + random.nextInt(0x100);    // accented Latin
                    });
                }
                String s = text.toString();
                assertThat(tokenizer.decode(tokenizer.encodePlain(s), true)).as("round trip of %s", s).isEqualTo(s);
            }
        }
    }

    @Test
    @DisplayName("training is deterministic")
    void deterministic() {
        assertThat(BpeTrainer.train(corpus(), 330)).isEqualTo(BpeTrainer.train(corpus(), 330));
    }
}
