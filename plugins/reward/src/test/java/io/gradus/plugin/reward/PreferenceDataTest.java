package io.gradus.plugin.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import io.gradus.testkit.CharTokenizer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PreferenceDataTest {

    /** One token per character (code point + 10); BOS 1, EOS 2; a template writing {@code <role>content|}. */
    private static final TextTokenizer CHARS = CharTokenizer.plain();

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
        assertThat(shown(explicit)).containsExactly("^<user>hi|<assistant>[yo|]", "^<user>hi|<assistant>[no|]");

        SequenceGroup implicit = PreferenceData.pair(Map.of(
                "chosen", List.of(user.getFirst(), Map.of("role", "assistant", "content", "yo")),
                "rejected", List.of(user.getFirst(), Map.of("role", "assistant", "content", "no"))), CHARS);
        assertThat(shown(implicit)).containsExactly("^<user>hi|<assistant>[yo|]", "^<user>hi|<assistant>[no|]");
    }

    /** CHARS with a template that writes BOS itself, as Llama 3's does: '^' in the rendering, encoded as BOS. */
    private static final TextTokenizer BOS_TEMPLATE = CharTokenizer.writingBos();

    @Test
    @DisplayName("conversational with a template that writes BOS itself (Llama 3): one BOS, the same targets")
    void templateWithBos() {
        var user = List.of(Map.of("role", "user", "content", "hi"));
        var chosen = List.of(Map.of("role", "assistant", "content", "yo"));
        var rejected = List.of(Map.of("role", "assistant", "content", "no"));
        assertThat(shown(PreferenceData.pair(Map.of("prompt", user, "chosen", chosen, "rejected", rejected), BOS_TEMPLATE)))
                .containsExactly("^<user>hi|<assistant>[yo|]", "^<user>hi|<assistant>[no|]");
        assertThat(shown(PreferenceData.pair(Map.of("chosen", List.of(user.getFirst(), chosen.getFirst()),
                "rejected", List.of(user.getFirst(), rejected.getFirst())), BOS_TEMPLATE)))
                .containsExactly("^<user>hi|<assistant>[yo|]", "^<user>hi|<assistant>[no|]");
        assertThat(shown(PreferenceData.single(Map.of("messages", user), BOS_TEMPLATE))).isEqualTo("^[<user>hi|]");
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
        assertThat(shown(PreferenceData.single(Map.of("messages", List.of(Map.of("role", "user", "content", "x"))), CHARS)))
                .isEqualTo("^[<user>x|]");
        assertThatThrownBy(() -> PreferenceData.single(Map.of("question", "x"), CHARS)).hasMessageContaining("question");
    }

    @Test
    @DisplayName("an empty completion is no error, as in SFT: the sequence is the prompt (and the appended EOS), training on no text")
    void emptyCompletions() {
        assertThat(shown(PreferenceData.pair(Map.of("prompt", "Q", "chosen", "", "rejected", "B"), CHARS)))
                .containsExactly("^Q[$]", "^Q[B$]");
        SequenceGroup ids = PreferenceData.pair(Map.of("prompt_input_ids", List.of(1, 4), "chosen_input_ids", List.of(5),
                "rejected_input_ids", List.of()), null);
        assertThat(ids.sequences().get(1).ids()).containsExactly(1, 4);
        assertThat(ids.sequences().get(1).targets()).containsExactly(false, false);
        // An implicit prompt that is all of one sequence: nothing of its own after the shared start.
        assertThat(PreferenceData.pair(Map.of("chosen_input_ids", List.of(4, 5, 6, 2), "rejected_input_ids",
                List.of(4, 5, 6)), null).sequences().get(1).targets()).containsExactly(false, false, false);
        var user = List.of(Map.of("role", "user", "content", "hi"));
        assertThat(shown(PreferenceData.pair(Map.of("prompt", user,
                "chosen", List.of(Map.of("role", "assistant", "content", "yo")),
                "rejected", List.of(Map.of("role", "assistant", "content", ""))), CHARS)))
                .containsExactly("^<user>hi|<assistant>[yo|]", "^<user>hi|<assistant>[|]");
    }

    @Test
    @DisplayName("bad pairs are refused naming the field: missing, without tokens, identical, of the wrong type")
    void refusesBadPairs() {
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", "Q", "chosen", "A"), CHARS))
                .hasMessageContaining("\"rejected\" is missing");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("prompt", "Q", "chosen", "A", "rejected", "A"), CHARS))
                .hasMessageContaining("\"chosen\" and \"rejected\" are identical");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen_input_ids", List.of(1, 2), "rejected_input_ids",
                List.of(1, 2)), null)).hasMessageContaining("\"chosen_input_ids\" and \"rejected_input_ids\" are identical");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen_input_ids", List.of(), "rejected_input_ids",
                List.of(1, 2)), null)).hasMessage("\"chosen_input_ids\" is empty and there is no prompt: the sequence has "
                        + "no token to score");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen", 3, "rejected", "B"), CHARS))
                .hasMessageContaining("\"chosen\" must be a text or a list of messages");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen", "A", "rejected", "B", "margin", "big"), CHARS))
                .hasMessageContaining("\"margin\" must be a number");
        assertThatThrownBy(() -> PreferenceData.pair(Map.of("chosen_ids", List.of(1, -4), "rejected_ids", List.of(1)), null))
                .hasMessageContaining("\"chosen_ids\" must be a list of token ids");
    }
}
