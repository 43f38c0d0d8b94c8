package io.gradus.plugin.sft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.testkit.CharTokenizer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SftTechniqueTest {

    /** One token per character (code point + 10); BOS 1, EOS 2; a template writing {@code <role>content|}. */
    private static final TextTokenizer CHARS = CharTokenizer.plain();

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
    @DisplayName("messages: a template that writes BOS itself (Llama 3) gets no second BOS, and the same targets")
    void templateWithBos() {
        // CHARS with a template that starts with BOS, written as '^' (encoded as BOS), as Llama 3's does.
        TextTokenizer bosTemplate = CharTokenizer.writingBos();
        var record = Map.<String, Object>of("messages", List.of(
                Map.of("role", "user", "content", "hi"),
                Map.of("role", "assistant", "content", "yo")));
        Example e = sft.encode(SftConfig.defaults(), record, bosTemplate);
        assertThat(e.ids()[0]).isEqualTo(1);
        assertThat(e.ids()[1]).as("no second BOS").isEqualTo('<' + 10);
        assertThat(CHARS.decode(java.util.Arrays.copyOfRange(e.ids(), 1, e.ids().length))).isEqualTo("<user>hi|<assistant>yo|");
        assertThat(targeted(e)).isEqualTo("yo|");
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
}
