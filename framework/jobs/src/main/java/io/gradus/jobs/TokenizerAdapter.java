package io.gradus.jobs;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.TextTokenizer;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.ChatTemplate;
import io.gradus.core.tokenizer.HfTokenizer;
import java.util.List;

/**
 * The model's Hugging Face tokenizer as the API's {@link TextTokenizer}; BOS/EOS from config.json,
 * the chat template from tokenizer_config.json (null when the model has none). A model folder without
 * {@code tokenizer.json} gets a null tokenizer: it can still train on pre-tokenized records, and text
 * is refused in words.
 */
public record TokenizerAdapter(HfTokenizer tokenizer, LlamaConfig config, ChatTemplate chat) implements TextTokenizer {

    /** The adapter for a model folder: its chat template if it has one Gradus renders. */
    public static TokenizerAdapter of(HfTokenizer tokenizer, LlamaConfig config, java.nio.file.Path modelDir) {
        ChatTemplate chat;
        try {
            chat = ChatTemplate.load(modelDir);
        } catch (java.io.IOException e) {
            chat = null;
        }
        return new TokenizerAdapter(tokenizer, config, chat);
    }

    @Override
    public int[] encode(String text) {
        return text().encodePlain(text);
    }

    @Override
    public String decode(int[] ids) {
        return text().decode(ids, true);
    }

    /** The tokenizer, or an error in words when the model folder has none. */
    private HfTokenizer text() {
        if (tokenizer == null) {
            throw new IllegalArgumentException("the model folder has no tokenizer.json, so text cannot be tokenized: "
                    + "give the record's token ids instead (pre-tokenized fields)");
        }
        return tokenizer;
    }

    @Override
    public int bosId() {
        return config.bosTokenId();
    }

    @Override
    public int eosId() {
        return config.eosTokenId();
    }

    @Override
    public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (chat == null) {
            throw new IllegalStateException("the model has no chat template (tokenizer_config.json) Gradus can render");
        }
        return chat.render(messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(),
                addGenerationPrompt);
    }
}
