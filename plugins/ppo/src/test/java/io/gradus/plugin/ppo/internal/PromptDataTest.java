package io.gradus.plugin.ppo.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.Example;
import io.gradus.testkit.CharTokenizer;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** PPO's prompt records, character by character: what the policy reads and continues, no token a target. */
class PromptDataTest {

    private static int[] chars(String text) {
        return text.chars().map(c -> c + CharTokenizer.OFFSET).toArray();
    }

    private static int[] withBos(int[] ids) {
        return IntStream.concat(IntStream.of(CharTokenizer.BOS), IntStream.of(ids)).toArray();
    }

    private static void assertContext(Example prompt, int[] ids) {
        assertThat(prompt.ids()).isEqualTo(ids);
        assertThat(prompt.targets()).as("no prompt token is a target").containsOnly(false).hasSize(ids.length);
    }

    @Test
    @DisplayName("a text: BOS and its tokens, nothing appended")
    void text() {
        assertContext(PromptData.prompt(Map.of("prompt", "bank (noun):"), CharTokenizer.plain()),
                withBos(chars("bank (noun):")));
    }

    @Test
    @DisplayName("messages: the chat template up to the assistant's header, with one BOS whether or not the template writes it")
    void conversational() {
        Map<String, Object> record = Map.of("prompt", List.of(Map.of("role", "user", "content", "hi")));
        assertContext(PromptData.prompt(record, CharTokenizer.plain()), withBos(chars("<user>hi|<assistant>")));
        assertContext(PromptData.prompt(record, CharTokenizer.writingBos()), withBos(chars("<user>hi|<assistant>")));
    }

    @Test
    @DisplayName("token ids (input_ids or prompt_input_ids): used exactly as given")
    void tokenIds() {
        assertContext(PromptData.prompt(Map.of("input_ids", List.of(5, 6, 7)), CharTokenizer.plain()), new int[] {5, 6, 7});
        assertContext(PromptData.prompt(Map.of("prompt_input_ids", List.of(9)), CharTokenizer.plain()), new int[] {9});
    }

    @Test
    @DisplayName("a record without a prompt, an empty one or one of the wrong type is refused naming the field")
    void refused() {
        assertThatThrownBy(() -> PromptData.prompt(Map.of("text", "x"), CharTokenizer.plain()))
                .hasMessageContaining("a PPO record needs \"prompt\"").hasMessageContaining("[text]");
        assertThatThrownBy(() -> PromptData.prompt(Map.of("prompt", ""), CharTokenizer.plain()))
                .hasMessage("\"prompt\" is empty");
        assertThatThrownBy(() -> PromptData.prompt(Map.of("prompt", 3), CharTokenizer.plain()))
                .hasMessageContaining("\"prompt\" must be a text or a list of messages");
        assertThatThrownBy(() -> PromptData.prompt(Map.of("input_ids", List.of(1, -2)), CharTokenizer.plain()))
                .hasMessageContaining("\"input_ids\" must be a list of token ids");
        assertThatThrownBy(() -> PromptData.prompt(Map.of("input_ids", List.of()), CharTokenizer.plain()))
                .hasMessage("\"input_ids\" is empty");
    }
}
