package io.gradus.itests;

import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.BpeTrainer;
import io.gradus.world.WordNet;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The built-in model for tests of the demos: what {@code gradus pretrain} makes, small and untrained (a
 * BPE tokenizer of WordNet's text with the chat tokens, and a one-layer Llama of 512 positions, for
 * gradus score on every held-out pair), where the demos look for it in a cache folder.
 */
final class TinyBuiltInModel {

    private TinyBuiltInModel() {}

    /** Writes the model into {@code cache}'s {@code models/wordnet/model}, as {@code gradus pretrain} would. */
    static void write(Path cache) throws IOException {
        List<String> texts = WordNet.entries().stream().limit(3000).map(WordNet.Entry::text).toList();
        BpeTrainer.Trained tokenizer = BpeTrainer.train(texts, 320);
        Path model = cache.resolve("models/wordnet/model");
        BpeTrainer.write(tokenizer, model);
        LlamaModel.initialize(new LlamaConfig(tokenizer.size(), 32, 128, 1, 1, 1, 32, 1e-5, 10000.0, 512, true,
                tokenizer.specialId(BpeTrainer.BOS), tokenizer.specialId(BpeTrainer.EOS)), 42).save(model);
    }
}
