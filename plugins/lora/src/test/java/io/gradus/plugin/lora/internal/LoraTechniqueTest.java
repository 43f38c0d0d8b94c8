package io.gradus.plugin.lora.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueException;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.PackedTokens;
import io.gradus.core.train.Trainer;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.testkit.GradientCheck;
import io.gradus.testkit.TinyLlama;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoraTechniqueTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();

    private static LlamaModel model() {
        return TinyLlama.random(4).model();
    }

    private static TokenBatch batch() {
        return TokenBatch.nextToken(2, 6, new int[] {1, 4, 7, 2, 9, 12, 3, 3, 8, 0, 5, 11});
    }

    private static float[] logits(LlamaModel model) {
        return new LlamaEngine(model, KERNELS).forward(batch()).clone();
    }

    private static void randomizeB(LoraTechnique.LoraTuning tuning, long seed) {
        RandomFactors.randomizeB(tuning, 0.3, seed);
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
    @DisplayName("the job's seed draws A: the same seed gives the same A in every module, another seed another A")
    void seedDrawsA() {
        var first = new LoraTechnique().apply(model(), LoraConfig.defaults(), 1);
        var again = new LoraTechnique().apply(model(), LoraConfig.defaults(), 1);
        var other = new LoraTechnique().apply(model(), LoraConfig.defaults(), 2);
        for (String module : first.layers().keySet()) {
            float[] a = first.layers().get(module).loraA().values();
            assertThat(again.layers().get(module).loraA().values()).as(module + " with the same seed").containsExactly(a);
            assertThat(other.layers().get(module).loraA().values()).as(module + " with another seed").isNotEqualTo(a);
            assertThat(a).as(module + " drawn, not zero").isNotEqualTo(new float[a.length]);
        }
    }

    @ParameterizedTest(name = "dropout {0}")
    @ValueSource(doubles = {0.0, 0.3})
    @DisplayName("the gradients of A and B match finite differences of the loss, with and without dropout")
    void gradients(double dropout) {
        LlamaModel model = model();
        // With dropout the mask is drawn from the module's input, so finite differences are only
        // valid where a perturbation cannot change any mask: a single module in the last layer.
        List<String> targets = dropout == 0 ? List.of("all-linear") : List.of("model.layers.1.mlp.down_proj");
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, dropout, targets, false, null));
        tuning.setTraining(true);
        randomizeB(tuning, 5);
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        assertThat(GradientCheck.DEFAULT.withSamples(3).withSeed(6).nextTokenLoss(engine, batch(), tuning.trainableParameters()))
                .isEmpty();
    }

    @Test
    @DisplayName("merging gives the same logits without the extra branch; unmerging restores the base weights")
    void mergeAndUnmerge() {
        LlamaModel model = model();
        float[] weightBefore = model.parameter("model.layers.0.self_attn.q_proj.weight").values().clone();
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 16.0, null, List.of("q_proj", "down_proj"), true, null));
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
    @DisplayName("dropout acts in training only: in inference the adapted model computes as without it")
    void dropoutOnlyInTraining() {
        LlamaModel plain = model();
        randomizeB(new LoraTechnique().apply(plain, new LoraConfig(4, 8.0, 0.0, List.of("q_proj"), false, null)), 9);
        LlamaModel withDropout = model();
        var tuning = new LoraTechnique().apply(withDropout, new LoraConfig(4, 8.0, 0.5, List.of("q_proj"), false, null));
        randomizeB(tuning, 9);

        assertThat(logits(withDropout)).containsExactly(logits(plain));
        tuning.setTraining(true);
        assertThat(logits(withDropout)).isNotEqualTo(logits(plain));
        assertThat(logits(withDropout)).as("the same input draws the same mask").containsExactly(logits(withDropout));
    }

    @Test
    @DisplayName("with dropout, a run resumed from a checkpoint repeats the uninterrupted run exactly")
    void dropoutResumesExactly(@TempDir Path dir) throws Exception {
        int[] stream = new int[400];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = (i * 7 + i / 13) % TinyLlama.Shape.DEFAULT.vocab();
        }
        var hyper = new Hyperparameters(6, 2, 8, 1, 1e-2, 1, "linear", 0.0, null, null, null, 1.0, null);
        Supplier<Trainer<Object>> fresh = () -> {
            LlamaModel model = model();
            var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, 0.2, List.of("all-linear"), false, null));
            tuning.setTraining(true);
            return new Trainer<>(new LlamaEngine(model, KERNELS), tuning.trainableParameters(),
                    new NextToken(), null, new PackedTokens(stream, 2, 8), hyper);
        };
        List<Double> straight = new ArrayList<>();
        fresh.get().run(6, m -> straight.add(m.loss()));
        List<Double> resumed = new ArrayList<>();
        var first = fresh.get();
        first.run(3, m -> resumed.add(m.loss()));
        first.saveCheckpoint(dir.resolve("ckpt"));
        var second = fresh.get();
        second.resume(dir.resolve("ckpt"));
        second.run(6, m -> resumed.add(m.loss()));
        assertThat(resumed).containsExactlyElementsOf(straight);
    }

    /** The next-token objective, as the sft and pretrain bundles compute it. */
    @Test
    @DisplayName("no-grad passes and generation run without dropout even while the engine trains: a rollout equals the training pass it feeds")
    void noDropoutOutsideTrainingPasses() {
        LlamaModel model = model();
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, 0.5, List.of("all-linear"), false, null), 3);
        randomizeB(tuning, 7);
        LlamaEngine engine = new LlamaEngine(model, KERNELS, List.of(tuning));
        TokenBatch batch = TinyLlama.random(4).batch(2, 6, 11);
        float[] inference = engine.infer(batch, true).logits().clone();

        engine.setTraining(true);
        assertThat(engine.infer(batch, true).logits()).as("no dropout in a no-grad pass").containsExactly(inference);
        assertThat(engine.train(batch, true).logits()).as("dropout in a training pass").isNotEqualTo(inference);
        int[] prompt = {1, 4, 5};
        int[] rollout = engine.generate(prompt, new io.gradus.api.model.Sampling(0, 0, 1, 4, 1), -1);
        engine.setTraining(false);
        assertThat(engine.generate(prompt, new io.gradus.api.model.Sampling(0, 0, 1, 4, 1), -1)).containsExactly(rollout);
    }

    @Test
    @DisplayName("inferBase is the base model's no-grad pass, LoRA off; the adapter and a pending training pass stay as they were")
    void inferBaseRunsTheBase() {
        TokenBatch batch = TinyLlama.random(4).batch(2, 6, 11);
        float[] base = new LlamaEngine(model(), KERNELS).infer(batch, true).logits().clone();
        LlamaModel model = model();
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, 0.5, List.of("all-linear"), false, null), 3);
        randomizeB(tuning, 7);
        LlamaEngine engine = new LlamaEngine(model, KERNELS, List.of(tuning), "lora");
        float[] adapted = engine.infer(batch, true).logits().clone();
        assertThat(adapted).as("the adapter changes the logits").isNotEqualTo(base);
        float[] dLogits = new float[adapted.length];
        java.util.Random random = new java.util.Random(5);
        for (int i = 0; i < dLogits.length; i++) {
            dLogits[i] = (float) random.nextGaussian();
        }

        // Training mode (dropout on in training passes): the gradients of a training pass alone ...
        engine.setTraining(true);
        engine.train(batch, true);
        engine.backward(dLogits, null);
        List<float[]> alone = tuning.trainableParameters().stream().map(p -> p.gradient().clone()).toList();
        tuning.trainableParameters().forEach(p -> java.util.Arrays.fill(p.gradient(), 0f));
        // ... are those of a training pass with a base pass between it and its backward pass.
        engine.train(batch, true);
        assertThat(engine.inferBase(batch, true).logits()).as("the base, without dropout").containsExactly(base);
        engine.backward(dLogits, null);
        for (int i = 0; i < alone.size(); i++) {
            assertThat(tuning.trainableParameters().get(i).gradient()).as(tuning.trainableParameters().get(i).name())
                    .containsExactly(alone.get(i));
        }
        engine.setTraining(false);
        assertThat(engine.infer(batch, true).logits()).as("the adapter is on again").containsExactly(adapted);
    }

    private static final class NextToken implements Objective<Object> {
        @Override
        public Class<Object> configType() {
            return Object.class;
        }

        @Override
        public String description() {
            return "next token";
        }

        @Override
        public StepResult step(Object config, TokenBatch batch, ModelRunner runner,
                float gradScale) {
            return NextTokenLoss.step(batch, runner, gradScale);
        }

        @Override
        public Example encode(Object config, Map<String, Object> record,
                TextTokenizer tokenizer) {
            return Example.allTargets(tokenizer.encode(String.valueOf(record.get("text"))));
        }
    }

    @Test
    @DisplayName("two named adapters on one base switch at run time; each alone equals a model with only it")
    void namedAdaptersSwitch() {
        LlamaModel onlyA = model();
        randomizeB(new LoraTechnique().apply(onlyA, new LoraConfig(4, 8.0, null, List.of("q_proj", "v_proj"), false, "a")), 1);
        LlamaModel onlyB = model();
        randomizeB(new LoraTechnique().apply(onlyB, new LoraConfig(2, 4.0, null, List.of("v_proj", "up_proj"), false, "b")), 2);
        float[] base = logits(model());

        LlamaModel both = model();
        var a = new LoraTechnique().apply(both, new LoraConfig(4, 8.0, null, List.of("q_proj", "v_proj"), false, "a"));
        randomizeB(a, 1);
        var b = new LoraTechnique().apply(both, new LoraConfig(2, 4.0, null, List.of("v_proj", "up_proj"), false, "b"));
        randomizeB(b, 2);
        assertThat(both.parameters()).extracting(Parameter::name)
                .contains("model.layers.0.self_attn.v_proj.lora_A.a.weight", "model.layers.0.self_attn.v_proj.lora_A.b.weight");

        b.setEnabled(false);
        assertThat(logits(both)).containsExactly(logits(onlyA));
        a.setEnabled(false);
        b.setEnabled(true);
        assertThat(logits(both)).containsExactly(logits(onlyB));
        b.setEnabled(false);
        assertThat(logits(both)).containsExactly(base);
    }

    @Test
    @DisplayName("targets match by name suffix, or as a whole-name pattern")
    void targetMatching() {
        var suffix = new LoraConfig(null, null, null, List.of("self_attn.q_proj", "up_proj"), null, null);
        assertThat(suffix.targets("model.layers.3.self_attn.q_proj")).isTrue();
        assertThat(suffix.targets("model.layers.3.mlp.up_proj")).isTrue();
        assertThat(suffix.targets("model.layers.3.mlp.gate_proj")).isFalse();
        var pattern = new LoraConfig(null, null, null, List.of("model\\.layers\\.[01]\\..*(q|v)_proj"), null, null);
        assertThat(pattern.targets("model.layers.1.self_attn.v_proj")).isTrue();
        assertThat(pattern.targets("model.layers.2.self_attn.v_proj")).isFalse();
        assertThat(pattern.targets("model.layers.0.self_attn.k_proj")).isFalse();
        assertThatThrownBy(() -> new LoraConfig(null, null, null, List.of("q_proj("), null, null))
                .hasMessageContaining("targetModules");
    }

    @Test
    @DisplayName("targets that match no module are an error listing the module names")
    void unknownTargets() {
        assertThatThrownBy(() -> new LoraTechnique().apply(model(), new LoraConfig(null, null, null, List.of("c_attn"), null, null)))
                .isInstanceOf(TechniqueException.class)
                .hasMessageContaining("c_attn")
                .hasMessageContaining("self_attn.q_proj");
        assertThatThrownBy(() -> new LoraConfig(null, null, 1.0, null, null, null)).hasMessageContaining("loraDropout");
    }
}
