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

    /**
     * The conversation rendered with the model's chat template; with {@code addGenerationPrompt} it
     * ends with the header of an assistant turn.
     *
     * @throws IllegalStateException if the model has no chat template Gradus can render
     */
    String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt);
}
