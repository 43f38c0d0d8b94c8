package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.ChatMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The tokenizer seen by techniques")
class TokenizerAdapterTest {

    @TempDir
    Path dir;

    private void refuses(String tokenizerConfig, String... expected) throws Exception {
        if (tokenizerConfig != null) {
            Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfig);
        }
        TokenizerAdapter adapter = TokenizerAdapter.of(null, null, dir);
        assertThatThrownBy(() -> adapter.renderChat(List.of(new ChatMessage("user", "hi")), true))
                .isInstanceOf(IllegalStateException.class).hasMessageContainingAll(expected);
    }

    @Test
    @DisplayName("a broken chat template is reported as broken, with where; only a missing one as missing")
    void brokenIsNotMissing() throws Exception {
        refuses("{\"chat_template\": \"{{ x \"", "cannot be used", "tokenizer_config.json", "not valid JSON: line 1");
        refuses("{\"chat_template\": \"[INST] {{ messages[0]['content'] }} [/INST]\"}", "cannot be used", "ChatML, Llama 3, Zephyr");
        Files.deleteIfExists(dir.resolve("tokenizer_config.json"));
        refuses(null, "the model has no chat template");
    }
}
