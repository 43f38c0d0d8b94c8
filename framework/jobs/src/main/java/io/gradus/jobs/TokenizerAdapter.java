package io.gradus.jobs;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.TextTokenizer;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.ChatTemplate;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The model's Hugging Face tokenizer as the API's {@link TextTokenizer}; BOS/EOS from config.json,
 * the chat template from tokenizer_config.json. A model folder without {@code tokenizer.json} gets a
 * null tokenizer: it can still train on pre-tokenized records, and text is refused in words.
 *
 * @param chat the chat template, or null when the model has none Gradus can use
 * @param chatProblem why {@code chat} is null, in words (no template, or what is wrong with it)
 */
public record TokenizerAdapter(HfTokenizer tokenizer, LlamaConfig config, ChatTemplate chat, String chatProblem)
        implements TextTokenizer {

    /**
     * The adapter for a model folder. A missing template and a broken one are told apart: rendering
     * a chat then fails with the real reason (the file, line and column of a broken template), not
     * with "no template".
     */
    public static TokenizerAdapter of(HfTokenizer tokenizer, LlamaConfig config, Path modelDir) {
        ChatTemplate chat = null;
        String problem;
        try {
            chat = ChatTemplate.find(modelDir).orElse(null);
            problem = chat != null ? null
                    : "the model has no chat template (no chat_template in " + modelDir.resolve("tokenizer_config.json") + ")";
        } catch (IOException e) {
            problem = "the model's chat template cannot be used: " + e.getMessage();
        }
        return new TokenizerAdapter(tokenizer, config, chat, problem);
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
            throw new IllegalStateException(chatProblem);
        }
        return chat.render(messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(),
                addGenerationPrompt);
    }
}
