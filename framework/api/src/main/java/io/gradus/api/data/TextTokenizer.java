package io.gradus.api.data;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/** The tokenizer of the model being trained. Provided by the trainer. */
@ProviderType
public interface TextTokenizer {

    /** Token ids of {@code text}, without any special token added. */
    int[] encode(String text);

    /** The text of {@code ids}, special tokens skipped. */
    String decode(int[] ids);

    /** Beginning-of-sequence token, or -1 if the model has none. */
    int bosId();

    /** End-of-sequence token, or -1 if the model has none. */
    int eosId();

    /** {@code tokens} after the BOS token, or as they are when the model has none. */
    default int[] withBos(int[] tokens) {
        if (bosId() < 0) {
            return tokens;
        }
        int[] ids = new int[tokens.length + 1];
        ids[0] = bosId();
        System.arraycopy(tokens, 0, ids, 1, tokens.length);
        return ids;
    }

    /**
     * {@code ids} with BOS in front, unless they already start with it (a text or a template that
     * writes BOS itself): never two BOS tokens.
     */
    default int[] withBosOnce(int[] ids) {
        return ids.length > 0 && ids[0] == bosId() ? ids : withBos(ids);
    }

    /** {@code tokens} followed by the EOS token, or as they are when the model has none. */
    default int[] withEos(int[] tokens) {
        if (eosId() < 0) {
            return tokens;
        }
        int[] ids = java.util.Arrays.copyOf(tokens, tokens.length + 1);
        ids[tokens.length] = eosId();
        return ids;
    }

    /**
     * The conversation rendered with the model's chat template; with {@code addGenerationPrompt} it
     * ends with the header of an assistant turn.
     *
     * @throws IllegalStateException if the model has no chat template Gradus can render
     */
    String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt);

    /**
     * The token ids of the conversation as the model reads it: rendered with the chat template and
     * tokenized without adding special tokens, as Hugging Face's {@code apply_chat_template(...,
     * tokenize=True)} does, then BOS in front unless the rendering starts with it. A template that
     * writes BOS itself (Llama 3's) thus gets exactly one; a second BOS would be a sequence the model
     * never saw in pre-training. Every objective that renders a conversation encodes it here, so a
     * prefix of a conversation (a prompt, the turns before an answer) is a prefix of its ids.
     *
     * @throws IllegalStateException if the model has no chat template Gradus can render
     */
    default int[] encodeChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return withBosOnce(encode(renderChat(messages, addGenerationPrompt)));
    }
}
