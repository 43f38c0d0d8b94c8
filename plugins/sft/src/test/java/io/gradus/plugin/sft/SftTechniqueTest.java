package io.gradus.plugin.sft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SftTechniqueTest {

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
                s.append('<').append(m.role()).append('>').append(m.content()).append('|');
            }
            return addGenerationPrompt ? s.append("<assistant>").toString() : s.toString();
        }
    };

    private final SftTechnique sft = new SftTechnique();

    /** The characters whose tokens are targets. */
    private static String targeted(Example e) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < e.ids().length; i++) {
            if (e.targets()[i]) {
                s.append(e.ids()[i] == 2 ? "$" : String.valueOf((char) (e.ids()[i] - 10)));
            }
        }
        return s.toString();
    }

    @Test
    @DisplayName("prompt/completion: the prompt is context, the completion and EOS are the targets")
    void masksThePrompt() {
        Example e = sft.encode(SftConfig.defaults(), Map.of("prompt", "Q?", "completion", "A."), CHARS);
        assertThat(e.ids()).containsExactly(1, 'Q' + 10, '?' + 10, 'A' + 10, '.' + 10, 2);
        assertThat(targeted(e)).isEqualTo("A.$");
    }

    @Test
    @DisplayName("messages: only the assistant turns (content and end marker) are targets")
    void masksAllButAssistantTurns() {
        var record = Map.<String, Object>of("messages", List.of(
                Map.of("role", "system", "content", "be brief"),
                Map.of("role", "user", "content", "hi"),
                Map.of("role", "assistant", "content", "yo"),
                Map.of("role", "user", "content", "bye"),
                Map.of("role", "assistant", "content", "ok")));
        Example e = sft.encode(SftConfig.defaults(), record, CHARS);
        assertThat(CHARS.decode(java.util.Arrays.copyOfRange(e.ids(), 1, e.ids().length)))
                .isEqualTo("<system>be brief|<user>hi|<assistant>yo|<user>bye|<assistant>ok|");
        assertThat(targeted(e)).isEqualTo("yo|ok|");
    }

    @Test
    @DisplayName("completionOnly false trains on every token; text records always do")
    void switchable() {
        Example all = sft.encode(new SftConfig(false), Map.of("prompt", "Q", "completion", "A"), CHARS);
        assertThat(targeted(all)).isEqualTo("QA$");
        assertThat(targeted(sft.encode(SftConfig.defaults(), Map.of("text", "ab"), CHARS))).isEqualTo("ab$");
    }

    @Test
    @DisplayName("records of no known format are refused with the fields they have")
    void refusesUnknownRecords() {
        assertThatThrownBy(() -> sft.encode(SftConfig.defaults(), Map.of("question", "x"), CHARS))
                .hasMessageContaining("messages").hasMessageContaining("question");
        assertThatThrownBy(() -> sft.encode(SftConfig.defaults(),
                Map.of("messages", List.of(Map.of("role", "user", "content", "x"))), CHARS))
                .hasMessageContaining("no assistant turn");
    }

    @Test
    @DisplayName("an empty completion or assistant turn is refused naming the field, in the reward objective's words")
    void refusesEmptyCompletions() {
        for (SftConfig config : List.of(SftConfig.defaults(), new SftConfig(false))) {
            assertThatThrownBy(() -> sft.encode(config, Map.of("prompt", "Q", "completion", ""), CHARS))
                    .hasMessageStartingWith("\"completion\" is empty: ").hasMessageContaining("only teach where to stop");
        }
        assertThatThrownBy(() -> sft.encode(SftConfig.defaults(), Map.of("messages", List.of(
                Map.of("role", "user", "content", "hi"), Map.of("role", "assistant", "content", "yo"),
                Map.of("role", "user", "content", "and?"), Map.of("role", "assistant", "content", ""))), CHARS))
                .hasMessageStartingWith("\"messages\": assistant message 4 is empty: ")
                .hasMessageContaining("only teach where to stop");
        assertThat(targeted(sft.encode(SftConfig.defaults(), Map.of("prompt", "", "completion", "A"), CHARS)))
                .as("an empty prompt is no empty completion").isEqualTo("A$");
    }
}
