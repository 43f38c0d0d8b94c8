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
 * null tokenizer: it can still train on pre-tokenized records, and text is refused in words. Token ids
 * the model has no embedding for are refused naming the files that disagree: the tokenizer's and the
 * model's {@code config.json} for ids the tokenizer gives, the model's {@code config.json} for ids a
 * record gives itself ({@link #requireInVocabulary}; the caller names the record's file and line).
 *
 * @param modelDir the model's folder, whose {@code config.json} gives the vocabulary size
 * @param chat the chat template, or null when the model has none Gradus can use
 * @param chatProblem why {@code chat} is null, in words (no template, or what is wrong with it)
 */
public record TokenizerAdapter(HfTokenizer tokenizer, LlamaConfig config, Path modelDir, ChatTemplate chat,
        String chatProblem)
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
        return new TokenizerAdapter(tokenizer, config, modelDir, chat, problem);
    }

    /** @throws IllegalArgumentException naming tokenizer.json and config.json when the tokenizer gives an id the model lacks */
    @Override
    public int[] encode(String text) {
        int[] ids = text().encodePlain(text);
        for (int id : ids) {
            if (id >= config.vocabSize()) {
                throw new IllegalArgumentException("the tokenizer " + tokenizer.file() + " gives token id " + id
                        + ", outside the model's vocabulary of " + config.vocabSize() + " (vocab_size in "
                        + modelDir.resolve("config.json") + "): the tokenizer does not belong to this model");
            }
        }
        return ids;
    }

    /**
     * Refuses token ids that a record gave itself (pre-tokenized fields) when the model has no
     * embedding for one of them.
     *
     * @throws IllegalArgumentException naming the id and the model's config.json
     */
    public void requireInVocabulary(int[] ids) {
        for (int id : ids) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the model's vocabulary of "
                        + config.vocabSize() + " (vocab_size in " + modelDir.resolve("config.json") + ")");
            }
        }
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
