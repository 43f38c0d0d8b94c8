package io.gradus.api.data;

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
}
