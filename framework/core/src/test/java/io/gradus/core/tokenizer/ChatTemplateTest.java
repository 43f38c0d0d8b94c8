package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rendering against Jinja2's own output ({@code src/test/python/chat_templates.py} wrote the cases). */
class ChatTemplateTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"chatml", "llama3", "zephyr"})
    @DisplayName("renders conversations exactly as Jinja2 renders the family's template")
    void matchesJinja(String family) throws Exception {
        JsonNode golden = JSON.readTree(ChatTemplateTest.class.getResourceAsStream("/chat/" + family + ".json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), golden.get("tokenizer_config").toString());
        ChatTemplate template = ChatTemplate.load(dir);
        assertThat(template.family().name().toLowerCase()).isEqualTo(family);

        for (JsonNode c : golden.get("cases")) {
            List<ChatTemplate.Message> messages = new ArrayList<>();
            for (JsonNode m : c.get("messages")) {
                messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
            }
            assertThat(template.render(messages, c.get("add_generation_prompt").asBoolean())).isEqualTo(c.get("text").asText());
        }
    }

    @Test
    @DisplayName("an unknown template family or a missing template is refused, naming the file")
    void refusesUnknown() throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": \"{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}\"}");
        assertThatThrownBy(() -> ChatTemplate.load(dir)).hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("ChatML, Llama 3, Zephyr");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        assertThatThrownBy(() -> ChatTemplate.load(dir)).hasMessageContaining("no chat_template");
    }

    @Test
    @DisplayName("find: no template only when the folder has none; a broken file or an unknown template is an error, not \"none\"")
    void findTellsMissingFromBroken() throws Exception {
        assertThat(ChatTemplate.find(dir)).isEmpty();
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\", \"chat_template\": null}");
        assertThat(ChatTemplate.find(dir)).isEmpty();

        // Each of these made callers that treat any load error as "no chat template" hide the reason.
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\",\n \"chat_template\": \"{{ x }\"");
        assertThatThrownBy(() -> ChatTemplate.find(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("tokenizer_config.json: not valid JSON: line 2");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"[INST] {{ m }} [/INST]\"}");
        assertThatThrownBy(() -> ChatTemplate.find(dir)).hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("ChatML, Llama 3, Zephyr");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}]}");
        assertThatThrownBy(() -> ChatTemplate.find(dir)).hasMessageContaining("no template named \"default\"");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"<|im_start|>\", \"eos_token\": 2}");
        assertThatThrownBy(() -> ChatTemplate.find(dir)).hasMessageContaining("eos_token must be a string");
    }

    @Test
    @DisplayName("a tokenizer_config.json that is not JSON is an error naming the file, line and column (found by fuzzing)")
    void malformedConfig() throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{");
        assertThatThrownBy(() -> ChatTemplate.load(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining(dir.resolve("tokenizer_config.json") + ": not valid JSON: line 1, column 2")
                .hasMessageNotContaining("Source");
    }
}
