package io.gradus.plugin.adapters;

import static io.gradus.plugin.adapters.TinyLlama.CONFIG;
import static io.gradus.plugin.adapters.TinyLlama.KERNELS;
import static io.gradus.plugin.adapters.TinyLlama.logits;
import static io.gradus.plugin.adapters.TinyLlama.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradus.api.job.Hyperparameters;
import io.gradus.api.model.InsertionPoint;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.TechniqueException;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.PackedTokens;
import io.gradus.core.train.Trainer;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.plugin.lora.internal.LoraLayer;
import io.gradus.plugin.lora.internal.LoraTechnique;
import io.gradus.plugin.pretrain.PretrainConfig;
import io.gradus.plugin.pretrain.PretrainTechnique;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AdaptersTechniqueTest {

    private static final int C = CONFIG.hiddenSize();
    private static final int LAYERS = CONFIG.numLayers();

    /** A configuration: the preset's defaults with the given fields. */
    @SuppressWarnings("unchecked")
    static AdaptersConfig config(String preset, Map<String, Object> fields) {
        return new AdaptersConfig(preset, (String) fields.get("adapterName"), (Boolean) fields.get("mhAdapter"),
                (Boolean) fields.get("outputAdapter"), fields.get("reductionFactor"), (Integer) fields.get("bottleneckSize"),
                (String) fields.get("nonLinearity"), (Boolean) fields.get("originalLnBefore"),
                (Boolean) fields.get("originalLnAfter"), fields.get("residualBeforeLn"), fields.get("scaling"),
                (Double) fields.get("dropout"), (String) fields.get("initWeights"), null,
                (List<Integer>) fields.get("leaveOut"), (String) fields.get("architecture"), (Boolean) fields.get("lnBefore"),
                null, (Boolean) fields.get("isParallel"), null, null, null, null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"double_seq_bn", "seq_bn"})
    @DisplayName("a fresh adapter is the identity: base + adapter gives the base's logits exactly, in training and generation")
    void freshAdapterIsTheIdentity(String preset) {
        float[] base = logits(model());
        float[] generated = new Generator(model(), KERNELS, 16).append(new int[] {1, 4, 7}).clone();
        LlamaModel model = model();
        var tuning = new AdaptersTechnique().apply(model, config(preset, Map.of("mhAdapter", true, "reductionFactor", 4)));

        assertThat(logits(model)).containsExactly(base);
        assertThat(new Generator(model, KERNELS, 16).append(new int[] {1, 4, 7})).containsExactly(generated);
        assertThat(model.parameters()).filteredOn(Parameter::trainable).containsExactlyElementsOf(tuning.trainableParameters());
        assertThat(tuning.layers()).hasSize(2 * LAYERS);
        boolean houlsby = preset.equals("double_seq_bn");
        assertThat(model.insertedModules(1, houlsby ? InsertionPoint.ATTENTION_OUTPUT : InsertionPoint.POST_ATTENTION))
                .hasSize(1);
        assertThat(model.insertedModules(1, houlsby ? InsertionPoint.MLP_OUTPUT : InsertionPoint.LAYER_OUTPUT)).hasSize(1);

        LlamaModel bert = model();
        new AdaptersTechnique().apply(bert, config(preset, Map.of("initWeights", "bert")));
        assertThat(logits(bert)).as("bert's initialisation is not the identity").isNotEqualTo(base);
    }

    @Test
    @DisplayName("trainable parameters: 2·(2·C·C/r + C/r + C) per layer for Houlsby, half that for Pfeiffer")
    void trainableCount() {
        // C = 20, r = 4: bottleneck b = 5 = C/r, so the formula holds exactly.
        int r = 4;
        long perLayer = 2L * (2L * C * C / r + C / r + C);
        var houlsby = new AdaptersTechnique().apply(model(), config("double_seq_bn", Map.of("reductionFactor", r)));
        assertThat(houlsby.trainableCount()).isEqualTo(LAYERS * perLayer).isEqualTo(3 * 2 * (2 * 20 * 5 + 5 + 20));
        var pfeiffer = new AdaptersTechnique().apply(model(), config("seq_bn", Map.of("reductionFactor", r)));
        assertThat(pfeiffer.trainableCount()).isEqualTo(LAYERS * perLayer / 2);

        // Per layer: b = 20 // 16 = 1 by default, 20 // 2.5 = 8 in layer 1, layer 2 left out.
        var mixed = new AdaptersTechnique().apply(model(), config("double_seq_bn",
                Map.of("reductionFactor", Map.of("default", 16, "1", 2.5), "leaveOut", List.of(2))));
        assertThat(mixed.trainableCount()).isEqualTo(2 * (2 * C + 1 + C) + 2 * (2 * C * 8 + 8 + C));
        var explicit = new AdaptersTechnique().apply(model(), config("seq_bn", Map.of("bottleneckSize", 3)));
        assertThat(explicit.trainableCount()).isEqualTo(LAYERS * (2 * C * 3 + 3 + C));
    }

    @ParameterizedTest
    @ValueSource(strings = {"houlsby", "pfeiffer with an adapter after attention", "gelu_new, scaling 0.5, layer 1 left out"})
    @DisplayName("through the engine, every adapter parameter's gradient matches finite differences")
    void gradientsThroughTheEngine(String variant) {
        AdaptersConfig config = switch (variant) {
            case "houlsby" -> config("double_seq_bn", Map.of("reductionFactor", 4));
            case "pfeiffer with an adapter after attention" ->
                    config("seq_bn", Map.of("mhAdapter", true, "nonLinearity", "gelu", "reductionFactor", 5));
            default -> config("double_seq_bn", Map.of("nonLinearity", "gelu_new", "scaling", 0.5, "leaveOut", List.of(1),
                    "bottleneckSize", 3));
        };
        LlamaModel model = model();
        var tuning = new AdaptersTechnique().apply(model, config);
        TinyLlama.randomize(tuning, 8, 0.3);
        assertThat(TinyLlama.finiteDifferenceFailures(model, tuning.trainableParameters())).isEmpty();
    }

    @Test
    @DisplayName("with dropout, training draws masks and the gradients still match finite differences")
    void dropout() {
        // The mask is drawn from the adapter's input, so differences are only valid where a
        // perturbation cannot change any mask: one adapter, after the last layer's MLP.
        LlamaModel model = model();
        var tuning = new AdaptersTechnique().apply(model, config("double_seq_bn",
                Map.of("mhAdapter", false, "leaveOut", List.of(0, 1), "dropout", 0.3, "reductionFactor", 4)));
        TinyLlama.randomize(tuning, 9, 0.3);
        float[] inference = logits(model);
        tuning.setTraining(true);
        assertThat(logits(model)).isNotEqualTo(inference).containsExactly(logits(model));
        assertThat(TinyLlama.finiteDifferenceFailures(model, tuning.trainableParameters())).isEmpty();
    }

    @Test
    @DisplayName("with dropout, a run resumed from a checkpoint repeats the uninterrupted run exactly")
    void dropoutResumesExactly(@TempDir Path dir) throws Exception {
        int[] stream = new int[400];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = (i * 7 + i / 13) % CONFIG.vocabSize();
        }
        var hyper = new Hyperparameters(6, 2, 8, 1, 1e-2, 1, "linear", 0.0, null, null, null, 1.0, null);
        Supplier<Trainer<PretrainConfig>> fresh = () -> {
            LlamaModel model = model();
            var tuning = new AdaptersTechnique().apply(model, config("double_seq_bn", Map.of("dropout", 0.2,
                    "reductionFactor", 4)));
            tuning.setTraining(true);
            return new Trainer<>(new LlamaEngine(model, KERNELS), tuning.trainableParameters(), new PretrainTechnique(),
                    new PretrainConfig(), new PackedTokens(stream, 2, 8), hyper);
        };
        List<Double> straight = new ArrayList<>();
        fresh.get().run(6, m -> straight.add(m.loss()));
        List<Double> resumed = new ArrayList<>();
        var first = fresh.get();
        first.run(3, m -> resumed.add(m.loss()));
        first.saveCheckpoint(dir.resolve("checkpoint"));
        var second = fresh.get();
        second.resume(dir.resolve("checkpoint"));
        second.run(6, m -> resumed.add(m.loss()));
        assertThat(resumed).containsExactlyElementsOf(straight);
        assertThat(straight.getLast()).as("the adapters learn").isLessThan(straight.getFirst());
    }

    @Test
    @DisplayName("two named adapters on one base switch at run time; each alone equals a model with only it")
    void namedAdaptersSwitch() {
        AdaptersConfig a = config("double_seq_bn", Map.of("adapterName", "a", "reductionFactor", 4));
        AdaptersConfig b = config("seq_bn", Map.of("adapterName", "b", "nonLinearity", "gelu"));
        LlamaModel onlyA = model();
        TinyLlama.randomize(new AdaptersTechnique().apply(onlyA, a), 1, 0.3);
        LlamaModel onlyB = model();
        TinyLlama.randomize(new AdaptersTechnique().apply(onlyB, b), 2, 0.3);
        float[] base = logits(model());

        LlamaModel both = model();
        var first = new AdaptersTechnique().apply(both, a);
        TinyLlama.randomize(first, 1, 0.3);
        var second = new AdaptersTechnique().apply(both, b);
        TinyLlama.randomize(second, 2, 0.3);
        assertThat(both.parameters()).extracting(Parameter::name).contains(
                "model.layers.0.attention_adapters.adapters.a.adapter_down.0.weight",
                "model.layers.2.output_adapters.adapters.b.adapter_up.bias");
        assertThat(first.trainableParameters()).noneMatch(Parameter::trainable);
        assertThat(second.trainableParameters()).allMatch(Parameter::trainable);

        second.setEnabled(false);
        assertThat(logits(both)).containsExactly(logits(onlyA));
        first.setEnabled(false);
        second.setEnabled(true);
        assertThat(logits(both)).containsExactly(logits(onlyB));
        second.setEnabled(false);
        assertThat(logits(both)).containsExactly(base);
        assertThatThrownBy(() -> new AdaptersTechnique().apply(both, a)).isInstanceOf(TechniqueException.class)
                .hasMessageContaining("already has an adapter named 'a'");
    }

    @Test
    @DisplayName("adapters compose with LoRA: a fresh adapter keeps the LoRA model's logits, and both train through the engine")
    void composesWithLora() {
        LlamaModel withLora = model();
        var lora = new LoraTechnique().apply(withLora, new LoraConfig(2, 4.0, null, List.of("o_proj", "down_proj"), null, null));
        randomizeLora(lora.layers().values(), 3);
        float[] loraLogits = logits(withLora);

        var adapters = new AdaptersTechnique().apply(withLora, config("double_seq_bn", Map.of("reductionFactor", 4)));
        assertThat(logits(withLora)).containsExactly(loraLogits);
        assertThat(lora.trainableParameters()).as("the last tuning applied is the one that trains").noneMatch(Parameter::trainable);

        TinyLlama.randomize(adapters, 4, 0.3);
        List<Parameter> both = new ArrayList<>(lora.trainableParameters());
        both.forEach(p -> p.setTrainable(true));
        both.addAll(adapters.trainableParameters());
        assertThat(TinyLlama.finiteDifferenceFailures(withLora, both)).isEmpty();
    }

    private static void randomizeLora(Iterable<LoraLayer> layers, long seed) {
        Random random = new Random(seed);
        for (LoraLayer layer : layers) {
            for (Parameter p : layer.parameters()) {
                if (p.name().contains("lora_B")) {
                    for (int i = 0; i < p.size(); i++) {
                        p.values()[i] = (float) (0.3 * random.nextGaussian());
                    }
                }
            }
        }
    }

    @Test
    @DisplayName("generation with trained adapters computes what the batch forward pass computes")
    void generationMatchesTheEngine() {
        LlamaModel model = model();
        TinyLlama.randomize(new AdaptersTechnique().apply(model, config("seq_bn", Map.of("mhAdapter", true))), 6, 0.3);
        int[] prompt = {1, 4, 7, 2, 9};
        float[] cached = new Generator(model, KERNELS, 16).append(prompt);
        float[] full = new LlamaEngine(model, KERNELS).forward(TokenBatch.nextToken(1, prompt.length, prompt));
        int vocab = CONFIG.vocabSize();
        float[] last = Arrays.copyOfRange(full, (prompt.length - 1) * vocab, prompt.length * vocab);
        for (int j = 0; j < vocab; j++) {
            assertThat(cached[j]).isCloseTo(last[j], within(1e-5f));
        }
    }

    @Test
    @DisplayName("configurations that would break Llama's residual stream, or that Gradus does not support, are refused")
    void refusedConfigurations() {
        assertThatThrownBy(() -> config("double_seq_bn", Map.of("originalLnAfter", false)))
                .hasMessageContaining("would drop the residual stream x");
        assertThatThrownBy(() -> config("seq_bn", Map.of("residualBeforeLn", false)))
                .hasMessageContaining("residualBeforeLn (false) and originalLnAfter (true) must be equal")
                .hasMessageContaining("added twice");
        assertThatThrownBy(() -> config("seq_bn", Map.of("residualBeforeLn", "post_add")))
                .hasMessageContaining("'post_add' takes the residual after a layer norm");
        assertThatThrownBy(() -> config("seq_bn", Map.of("nonLinearity", "tanh")))
                .hasMessage("nonLinearity 'tanh' is not supported; use one of [gelu, gelu_new, relu, silu, swish]");
        assertThatThrownBy(() -> config("seq_bn", Map.of("architecture", "prefix_tuning")))
                .hasMessageContaining("architecture 'prefix_tuning' is not a bottleneck adapter");
        assertThatThrownBy(() -> config("seq_bn", Map.of("isParallel", true))).hasMessageContaining("isParallel is not supported");
        assertThatThrownBy(() -> config("seq_bn", Map.of("lnBefore", true))).hasMessageContaining("lnBefore is not supported");
        assertThatThrownBy(() -> config("seq_bn", Map.of("scaling", "learned")))
                .hasMessageContaining("'learned' (a learned scaling) is not supported");
        assertThatThrownBy(() -> config("seq_bn", Map.of("reductionFactor", 4, "bottleneckSize", 3)))
                .hasMessage("give reductionFactor or bottleneckSize, not both");
        assertThatThrownBy(() -> config("seq_bn", Map.of("reductionFactor", Map.of("two", 3))))
                .hasMessageContaining("'two' is neither a layer index nor 'default'");
        assertThatThrownBy(() -> config("seq_bn", Map.of("mhAdapter", false, "outputAdapter", false)))
                .hasMessageContaining("nowhere to insert");
        assertThatThrownBy(() -> new AdaptersTechnique().apply(model(), config("seq_bn", Map.of("leaveOut", List.of(5)))))
                .isInstanceOf(TechniqueException.class).hasMessageContaining("leaveOut names layer 5, but the model has layers 0 to 2");
        assertThatThrownBy(() -> new AdaptersTechnique().apply(model(),
                config("seq_bn", Map.of("reductionFactor", Map.of("1", 3)))))
                .isInstanceOf(TechniqueException.class).hasMessageContaining("no value for layer 0 and no 'default'");
        // The equal pair with originalLnBefore true is the library's AdapterPlus-style setting: allowed.
        assertThat(config("seq_bn", Map.of("residualBeforeLn", false, "originalLnAfter", false)).readsResidualStream()).isTrue();
    }
}
