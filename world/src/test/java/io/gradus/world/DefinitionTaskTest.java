package io.gradus.world;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DefinitionTaskTest {

    @Test
    @DisplayName("a question's word is read back from its record, an apostrophe in the word included")
    void readsTheWordBack() {
        for (String word : List.of("bank", "o'clock", "jack-o'-lantern")) {
            var entry = new WordNet.Entry(1, "noun", List.of(word, "other"), "a definition", List.of());
            var record = DefinitionTask.question(entry);
            assertThat(DefinitionTask.userText(record)).isEqualTo("What does the word '" + word + "' mean (noun)?")
                    .isEqualTo(DefinitionTask.questionText(word, "noun"));
            assertThat(DefinitionTask.word(record)).isEqualTo(word);
            assertThat(DefinitionTask.answerText(record)).isEqualTo("a definition");
        }
    }
}
