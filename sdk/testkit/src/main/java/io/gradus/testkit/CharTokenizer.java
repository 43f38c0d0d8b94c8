package io.gradus.testkit;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.TextTokenizer;
import java.util.List;

/**
 * A tokenizer a test can read at a glance: one token per character (its code point + 10), BOS
 * {@value #BOS}, EOS {@value #EOS}, and a chat template that writes each message as
 * {@code <role>content|}, with {@code <assistant>} as the generation prompt. An objective's encoding
 * of a record can then be checked character by character.
 *
 * <p>{@link #writingBos()} gives the same tokenizer with a template that starts with BOS itself, as
 * Llama 3's does ({@code <|begin_of_text|>}): the rendering starts with {@code '^'}, which encodes as
 * BOS. An objective that puts BOS before a rendering without looking would give that model two.
 */
public final class CharTokenizer implements TextTokenizer {

    /** The beginning-of-sequence token. */
    public static final int BOS = 1;

    /** The end-of-sequence token. */
    public static final int EOS = 2;

    /** What a character's token id is above its code point. */
    public static final int OFFSET = 10;

    private final boolean templateWritesBos;

    private CharTokenizer(boolean templateWritesBos) {
        this.templateWritesBos = templateWritesBos;
    }

    /** The tokenizer whose template writes no BOS (ChatML's way): objectives put it in front. */
    public static CharTokenizer plain() {
        return new CharTokenizer(false);
    }

    /** The tokenizer whose template starts with BOS, written {@code '^'} (Llama 3's way). */
    public static CharTokenizer writingBos() {
        return new CharTokenizer(true);
    }

    @Override
    public int[] encode(String text) {
        return text.chars().map(c -> templateWritesBos && c == '^' ? BOS : c + OFFSET).toArray();
    }

    /** The characters of {@code ids}; BOS and EOS, special tokens, are skipped. */
    @Override
    public String decode(int[] ids) {
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            if (id != BOS && id != EOS) {
                text.append((char) (id - OFFSET));
            }
        }
        return text.toString();
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder text = new StringBuilder(templateWritesBos ? "^" : "");
        for (ChatMessage m : messages) {
            text.append('<').append(m.role()).append('>').append(m.content()).append('|');
        }
        return addGenerationPrompt ? text.append("<assistant>").toString() : text.toString();
    }
}
