package io.gradus.plugin.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.TechniqueException;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LoraTechniqueTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final LlamaConfig CONFIG = new LlamaConfig(13, 16, 24, 2, 4, 2, 4, 1e-5, 10000.0, 32, false, 1, 2);

    private static LlamaModel model() {
        LlamaModel model = LlamaModel.initialize(CONFIG, 3);
        Random random = new Random(4);
        for (Parameter p : model.parameters()) {
            for (int i = 0; i < p.size(); i++) {
                p.values()[i] = p.name().endsWith("norm.weight") ? 1f : (float) (0.4 * random.nextGaussian());
            }
        }
        return model;
    }

    private static TokenBatch batch() {
        return TokenBatch.nextToken(2, 6, new int[] {1, 4, 7, 2, 9, 12, 3, 3, 8, 0, 5, 11});
    }

    private static float[] logits(LlamaModel model) {
        return new LlamaEngine(model, KERNELS).forward(batch()).clone();
    }

    private static void randomizeB(LoraTechnique.LoraTuning tuning, long seed) {
        Random random = new Random(seed);
        for (LoraLayer layer : tuning.layers().values()) {
            float[] b = layer.loraB().values();
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (0.3 * random.nextGaussian());
            }
        }
    }

    @Test
    @DisplayName("with B = 0 the adapted model computes exactly the base model; only A and B train")
    void startsFromTheBase() {
        float[] base = logits(model());
        LlamaModel model = model();
        var tuning = new LoraTechnique().apply(model, LoraConfig.defaults());

        assertThat(logits(model)).containsExactly(base);
        assertThat(tuning.layers().keySet()).containsExactly(
                "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj");
        // q: 8·(16 + 16), v: 8·(16 + 8), two layers
        assertThat(tuning.trainableCount()).isEqualTo(2 * (8 * (16 + 16) + 8 * (16 + 8)));
        assertThat(model.parameters()).filteredOn(Parameter::trainable).hasSize(8);
    }

    @Test
    @DisplayName("the gradients of A and B match finite differences of the loss")
    void gradients() {
        LlamaModel model = model();
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, null, List.of("all-linear"), false));
        randomizeB(tuning, 5);
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = batch();
        float[] d = new float[batch.batchSize() * batch.seqLen() * CONFIG.vocabSize()];
        loss(engine, batch, d);
        engine.backward(d);

        Random random = new Random(6);
        List<String> failures = new ArrayList<>();
        for (Parameter p : tuning.trainableParameters()) {
            for (int s = 0; s < 3; s++) {
                int i = random.nextInt(p.size());
                float saved = p.values()[i];
                double h = 1e-2;
                p.values()[i] = (float) (saved + h);
                double up = loss(engine, batch, null);
                p.values()[i] = (float) (saved - h);
                double down = loss(engine, batch, null);
                p.values()[i] = saved;
                double numeric = (up - down) / (2 * h);
                if (Math.abs(numeric - p.gradient()[i]) > 2e-3 + 0.02 * Math.abs(numeric)) {
                    failures.add(p.name() + "[" + i + "] analytic " + p.gradient()[i] + " numeric " + numeric);
                }
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    @DisplayName("merging gives the same logits without the extra branch; unmerging restores the base weights")
    void mergeAndUnmerge() {
        LlamaModel model = model();
        float[] weightBefore = model.parameter("model.layers.0.self_attn.q_proj.weight").values().clone();
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 16.0, null, List.of("q_proj", "down_proj"), true));
        randomizeB(tuning, 7);
        float[] adapted = logits(model);

        tuning.merge(KERNELS);
        float[] merged = logits(model);
        for (int i = 0; i < adapted.length; i++) {
            assertThat(merged[i]).isCloseTo(adapted[i], org.assertj.core.api.Assertions.within(1e-4f));
        }
        assertThat(model.parameter("model.layers.0.self_attn.q_proj.weight").values()).isNotEqualTo(weightBefore);

        tuning.unmerge(KERNELS);
        float[] restored = model.parameter("model.layers.0.self_attn.q_proj.weight").values();
        for (int i = 0; i < restored.length; i++) {
            assertThat(restored[i]).isCloseTo(weightBefore[i], org.assertj.core.api.Assertions.within(1e-6f));
        }
    }

    @Test
    @DisplayName("targets that match no module are an error listing the module names")
    void unknownTargets() {
        assertThatThrownBy(() -> new LoraTechnique().apply(model(), new LoraConfig(null, null, null, List.of("c_attn"), null)))
                .isInstanceOf(TechniqueException.class)
                .hasMessageContaining("c_attn")
                .hasMessageContaining("self_attn.q_proj");
        assertThatThrownBy(() -> new LoraConfig(null, null, 0.1, null, null)).hasMessageContaining("loraDropout");
    }

    private static double loss(LlamaEngine engine, TokenBatch batch, float[] d) {
        float[] logits = engine.forward(batch);
        int n = batch.countLabels();
        return KERNELS.crossEntropy(logits, batch.batchSize() * batch.seqLen(), CONFIG.vocabSize(), batch.labels(), d, 1f / n) / n;
    }
}
