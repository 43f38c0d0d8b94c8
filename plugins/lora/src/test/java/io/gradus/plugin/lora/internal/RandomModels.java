package io.gradus.plugin.lora.internal;

import io.gradus.api.model.Parameter;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import java.util.Random;

/** Models and adapters with random weights large enough that every module visibly changes the outputs. */
final class RandomModels {

    private RandomModels() {}

    /** A model with every weight drawn from N(0, scale²), norm weights 1. */
    static LlamaModel of(LlamaConfig config, double scale, long seed) {
        LlamaModel model = LlamaModel.initialize(config, seed);
        Random random = new Random(seed);
        for (Parameter p : model.parameters()) {
            for (int i = 0; i < p.size(); i++) {
                p.values()[i] = p.name().endsWith("norm.weight") ? 1f : (float) (scale * random.nextGaussian());
            }
        }
        return model;
    }

    /** Draws every B factor of {@code tuning} from N(0, scale²), so the adapter changes the outputs. */
    static void randomizeB(LoraTechnique.LoraTuning tuning, double scale, long seed) {
        Random random = new Random(seed);
        for (LoraLayer layer : tuning.layers().values()) {
            float[] b = layer.loraB().values();
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (scale * random.nextGaussian());
            }
        }
    }
}
