package io.gradus.host.job;

import io.gradus.api.data.TextTokenizer;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.HfTokenizer;

/** The model's Hugging Face tokenizer as the API's {@link TextTokenizer}; BOS/EOS from config.json. */
record TokenizerAdapter(HfTokenizer tokenizer, LlamaConfig config) implements TextTokenizer {

    @Override
    public int[] encode(String text) {
        return tokenizer.encodePlain(text);
    }

    @Override
    public String decode(int[] ids) {
        return tokenizer.decode(ids, true);
    }

    @Override
    public int bosId() {
        return config.bosTokenId();
    }

    @Override
    public int eosId() {
        return config.eosTokenId();
    }
}
