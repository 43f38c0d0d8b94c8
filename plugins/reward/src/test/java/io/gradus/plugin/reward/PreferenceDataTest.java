package io.gradus.plugin.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PreferenceDataTest {

    /** One token per character (code point + 10); BOS 1, EOS 2; a ChatML-like template. */
    private static final TextTokenizer CHARS = new TextTokenizer() {
        @Override
        public int[] encode(String text) {
            return text.chars().map(c -> c + 10).toArray();
        }

        @Override
        public String decode(int[] ids) {
            StringBuilder s = new StringBuilder();
            for (int id : ids) {
                s.append((char) (id - 10));
            }
            return s.toString();
        }

        @Override
        public int bosId() {
            return 1;
        }

        @Override
        public int eosId() {
            return 2;
        }

        @Override
        public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
            StringBuilder s = new StringBuilder();
            for (ChatMessage m : messages) {
                s.append('<').append(m.role().charAt(0)).append('>').append(m.content()).append('|');
            }
            return addGenerationPrompt ? s.append("<a>").toString() : s.toString();
        }
    };

    /** The sequence as text ("^" for BOS, "$" for EOS), its targets in brackets. */
    private static String shown(Example e) {
        StringBuilder s = new StringBuilder();
        boolean open = false;
        for (int i = 0; i < e.ids().length; i++) {
            if (e.targets()[i] != open) {
                s.append(open ? ']' : '[');
                open = e.targets()[i];
            }
            int id = e.ids()[i];
            s.append(id == 1 ? "^" : id == 2 ? "$" : String.valueOf((char) (id - 10)));
        }
        return s.append(open ? "]" : "").toString();
    }

    private static List<String> shown(SequenceGroup pair) {
        return pair.sequences().stream().map(PreferenceDataTest::shown).toList();
    }

    @Test
    @DisplayName("standard: BOS + prompt + completion + EOS, the completion and EOS are the targets; the margin travels")
    void standard() {
        SequenceGroup pair = PreferenceData.pair(Map.of("prompt", "Q:", "chosen", "yes", "rejected", "no", "margin", 1.5),
                CHARS);
        assertThat(shown(pair)).containsExactly("^Q:[yes$]", "^Q:[no$]");
        assertThat(pair.values()).containsExactly(Map.entry("margin", 1.5));
    }

    @Test
    @DisplayName("implicit prompt: whole texts; the targets start after the prefix the two share")
    void implicitPrompt() {
        assertThat(shown(PreferenceData.pair(Map.of("chosen", "Q: yes", "rejected", "Q: no"), CHARS)))
                .containsExactly("^Q: [yes$]", "^Q: [no$]");
    }

    @Test
    @DisplayName("conversational: prompt and completion messages rendered with the chat template, nothing appended")
    void conversational() {
        var user = List.of(Map.of("role", "user", "content", "hi"));
        SequenceGroup explicit = PreferenceData.pair(Map.of("prompt", user,
                "chosen", List.of(Map.of("role", "assistant", "content", "yo")),
                "rejected", List.of(Map.of("role", "assistant", "content", "no"))), CHARS);
        assertThat(shown(explicit)).containsExactly("^<u>hi|<a>[yo|]", "^<u>hi|<a>[no|]");

        SequenceGroup implicit = PreferenceData.pair(Map.of(
                "chosen", List.of(user.getFirst(), Map.of("role", "assistant", "content", "yo")),
                "rejected", List.of(user.getFirst(), Map.of("role", "assistant", "content", "no"))), CHARS);
        assertThat(shown(implicit)).containsExactly("^<u>hi|<a>[yo|]", "^<u>hi|<a>[no|]");
    }

    @Test
    @DisplayName("pre-tokenized: TRL's columns used exactly as given, without a tokenizer, in both generations of names")
    void preTokenized() {
        SequenceGroup legacy = PreferenceData.pair(Map.of("prompt_input_ids", List.of(7, 8), "chosen_input_ids", List.of(9),
                "rejected_input_ids", List.of(10, 11)), null);
        assertThat(legacy.sequences().get(0).ids()).containsExactly(7, 8, 9);
        assertThat(legacy.sequences().get(1).ids()).containsExactly(7, 8, 10, 11);
        assertThat(legacy.sequences().get(1).targets()).containsExactly(false, false, true, true);
        SequenceGroup current = PreferenceData.pair(Map.of("chosen_ids", List.of(3, 4, 5), "rejected_ids", List.of(3, 6)),
                null);
        assertThat(current.sequences().get(0).ids()).containsExactly(3, 4, 5);
        assertThat(current.sequences().get(0).targets()).containsExactly(false, true, true);
    }

    @Test
    @DisplayName("single records to score: text, prompt + completion, messages, input ids")
    void singles() {
        assertThat(shown(PreferenceData.single(Map.of("text", "ab"), CHARS))).isEqualTo("^[ab$]");
        assertThat(PreferenceData.single(Map.of("input_ids", List.of(4, 5)), null).ids()).containsExactly(4, 5);
        assertThat(shown(PreferenceData.single(Map.of("prompt", "Q", "completion", "A"), CHARS))).isEqualTo("^Q[A$]");
        assertThat(PreferenceData.single(Map.of("messages", List.of(Map.of("role", "user", "content", "x"))), CHARS).ids())
                .containsExactly(1, '<' + 10, 'u' + 10, '>' + 10, 'x' + 10, '|' + 10);
        assertThatThrownBy(() -> PreferenceData.single(Map.of("question", "x"), CHARS)).hasMessageContaining("question");
    }

    @Test
    @DisplayName("a completion with nothing of its own after the prompt is refused in every format, in SFT's words")
    void refusesEmptyCompletions() {
        String why = "only teach where to stop";
        // Standard text: empty, or a text that gives no tokens (the appended EOS is not the completion's own).
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", "Q", "chosen", "A", "rejected", ""), CHARS))
                .hasMessageStartingWith("\"rejected\" is empty: ").hasMessageContaining(why);
        TextTokenizer silent = new TextTokenizer() {
            @Override
            public int[] encode(String text) {
                return text.equals("~") ? new int[0] : CHARS.encode(text);
            }

            @Override
            public String decode(int[] ids) {
                return CHARS.decode(ids);
            }

            @Override
            public int bosId() {
                return 1;
            }

            @Override
            public int eosId() {
                return 2;
            }

            @Override
            public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
                return CHARS.renderChat(messages, addGenerationPrompt);
            }
        };
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", "Q", "chosen", "~", "rejected", "B"), silent))
                .hasMessageStartingWith("\"chosen\" is empty: ").hasMessageContaining(why);
        // Implicit prompt: one text all of the start the two share.
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen", "Q: yes", "rejected", "Q: yes, sir"), CHARS))
                .hasMessageStartingWith("\"chosen\" is empty after the prompt (without a \"prompt\" field")
                .hasMessageContaining(why);
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen_input_ids", List.of(4, 5, 6), "rejected_input_ids",
                List.of(4, 5)), null)).hasMessageStartingWith("\"rejected_input_ids\" is empty after the prompt (without "
                        + "a \"prompt_input_ids\" field").hasMessageContaining(why);
        // Pre-tokenized with a prompt: an empty list.
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt_input_ids", List.of(1, 4), "chosen_input_ids", List.of(),
                "rejected_input_ids", List.of(5)), null)).hasMessageStartingWith("\"chosen_input_ids\" is empty: ");
        // Conversational: an assistant message without content.
        var user = List.of(Map.of("role", "user", "content", "hi"));
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", user,
                "chosen", List.of(Map.of("role", "assistant", "content", "yo")),
                "rejected", List.of(Map.of("role", "assistant", "content", ""))), CHARS))
                .hasMessageStartingWith("\"rejected\": assistant message 1 is empty: ").hasMessageContaining(why);
        SequenceGroup own = PreferenceData.pair(Map.of("chosen_input_ids", List.of(4, 5, 2), "rejected_input_ids",
                List.of(4, 5, 6, 2)), null);
        assertThat(own.sequences().get(0).targets()).as("an EOS the data gives itself is the completion's own")
                .containsExactly(false, false, true);
    }

    @Test
    @DisplayName("bad pairs are refused naming the field: missing, empty, identical, of the wrong type")
    void refusesBadPairs() {
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", "Q", "chosen", "A"), CHARS))
                .hasMessageContaining("\"rejected\" is missing");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", "Q", "chosen", "", "rejected", "B"), CHARS))
                .hasMessageContaining("\"chosen\" is empty");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", "Q", "chosen", "A", "rejected", "A"), CHARS))
                .hasMessageContaining("\"chosen\" and \"rejected\" are identical");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen_input_ids", List.of(1, 2), "rejected_input_ids",
                List.of(1, 2)), null)).hasMessageContaining("\"chosen_input_ids\" and \"rejected_input_ids\" are identical");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen_input_ids", List.of(), "rejected_input_ids",
                List.of(1, 2)), null)).hasMessageContaining("\"chosen_input_ids\" is empty");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen", 3, "rejected", "B"), CHARS))
                .hasMessageContaining("\"chosen\" must be a text or a list of messages");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen", "A", "rejected", "B", "margin", "big"), CHARS))
                .hasMessageContaining("\"margin\" must be a number");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen_ids", List.of(1, -4), "rejected_ids", List.of(1)), null))
                .hasMessageContaining("\"chosen_ids\" must be a list of token ids");
    }
}
