package io.gradus.plugin.lora.internal;

import java.util.Random;

/** Random LoRA factors, large enough that every adapted module visibly changes the outputs. */
final class RandomFactors {

    private RandomFactors() {}

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
