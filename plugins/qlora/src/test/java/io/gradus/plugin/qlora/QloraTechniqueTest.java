package io.gradus.plugin.qlora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.job.Hyperparameters;
import io.gradus.api.kernel.Nf4DoubleQuant;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.model.TensorFiles;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.PackedTokens;
import io.gradus.core.train.Trainer;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.plugin.lora.internal.LoraTechnique;
import io.gradus.plugin.sft.SftConfig;
import io.gradus.plugin.sft.SftTechnique;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QloraTechniqueTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final LlamaConfig CONFIG = new LlamaConfig(40, 64, 160, 2, 4, 2, 16, 1e-5, 10000.0, 32, false, 1, 2);
    private static final QloraConfig ALL_LINEAR = new QloraConfig(null, null, null,
            new LoraConfig(4, 8.0, null, List.of("all-linear"), null, null));

    @TempDir
    Path dir;

    private final QloraTechnique qlora = new QloraTechnique(new LoraTechnique());

    private Path floatModel() throws IOException {
        Path folder = dir.resolve("float");
        if (!Files.exists(folder)) {
            LlamaModel.initialize(CONFIG, 4).save(folder);
        }
        return folder;
    }

    private static TokenBatch batch() {
        return TokenBatch.nextToken(2, 8, new int[] {1, 4, 9, 16, 25, 36, 9, 22, 3, 5, 7, 11, 13, 17, 19, 23});
    }

    private static float[] logits(LlamaModel model) {
        return new LlamaEngine(model, KERNELS).forward(batch()).clone();
    }

    @Test
    @DisplayName("every linear module becomes NF4 (double-quantized, ≤ 0.53 bytes per weight) with LoRA on top; only the LoRA factors train")
    void quantizesAndAdapts() throws IOException {
        LlamaModel model = LlamaModel.load(floatModel());
        Tuning tuning = qlora.apply(model, ALL_LINEAR);

        assertThat(model.quantizedWeights()).hasSize(14).allSatisfy(w -> {
            assertThat(w.data()).isInstanceOf(Nf4DoubleQuant.class);
            assertThat(w.data().bytesPerElement()).isLessThanOrEqualTo(0.53);
        });
        assertThat(model.parameters()).noneMatch(p -> p.name().endsWith("_proj.weight"));
        assertThat(model.parameters()).filteredOn(Parameter::trainable).containsExactlyElementsOf(tuning.trainableParameters());
        // r·(in + out) per module: q, o 4·128; k, v 4·(64 + 32); gate, up, down 4·(64 + 160); two layers.
        assertThat(tuning.trainableCount()).isEqualTo(2 * (2 * 4 * 128 + 2 * 4 * 96 + 3 * 4 * 224));
        long base = model.quantizedWeights().stream().mapToLong(QuantizedWeight::size).sum();
        assertThat(model.parameterCount()).isEqualTo(base + model.parameters().stream().mapToLong(Parameter::size).sum());
    }

    @Test
    @DisplayName("quantizing while loading gives the model apply gives on a float model, weight for weight and logit for logit")
    void loadTransformEqualsApply() throws IOException {
        LlamaModel afterLoad = LlamaModel.load(floatModel());
        qlora.apply(afterLoad, ALL_LINEAR);
        LlamaModel whileLoading = LlamaModel.load(floatModel(), qlora.loadTransform(ALL_LINEAR));
        assertThat(whileLoading.quantizedWeights()).hasSize(14);
        qlora.apply(whileLoading, ALL_LINEAR);

        assertThat(whileLoading.quantizedWeights()).containsExactlyElementsOf(afterLoad.quantizedWeights());
        assertThat(logits(whileLoading)).containsExactly(logits(afterLoad));
    }

    @Test
    @DisplayName("SFT-style training lowers the loss; the base stays NF4 (no float copy of it appears), and the adapter reloads")
    void trainsAndReloads() throws IOException {
        LlamaModel model = LlamaModel.load(floatModel(), qlora.loadTransform(ALL_LINEAR));
        Tuning tuning = qlora.apply(model, ALL_LINEAR);
        tuning.setTraining(true);
        int[] stream = new int[600];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = (i * 7 + i / 5) % CONFIG.vocabSize();
        }
        var hyper = new Hyperparameters(20, 4, 16, 1, 2e-2, 2, "constant", 0.0, null, null, null, 1.0, null);
        Trainer<SftConfig> trainer = new Trainer<>(new LlamaEngine(model, KERNELS), tuning.trainableParameters(),
                new SftTechnique(), SftConfig.defaults(), new PackedTokens(stream, 4, 16), hyper);
        List<Double> losses = new ArrayList<>();
        trainer.run(20, m -> losses.add(m.loss()));
        assertThat(losses.getLast()).as("loss after 20 steps, from %.3f", losses.getFirst()).isLessThan(0.9 * losses.getFirst());
        assertThat(model.quantizedWeights()).hasSize(14);
        assertThat(model.parameters()).noneMatch(p -> p.name().endsWith("_proj.weight"));
        tuning.setTraining(false);

        Path adapter = dir.resolve("adapter");
        InMemoryTensors files = new InMemoryTensors();
        assertThat(tuning.save(adapter, files, "base")).isTrue();
        assertThat(Files.readString(adapter.resolve("adapter_config.json"))).contains("\"peft_type\": \"LORA\"");
        LlamaModel reloaded = LlamaModel.load(floatModel(), qlora.loadTransform(ALL_LINEAR));
        qlora.load(reloaded, ALL_LINEAR, files.read(adapter.resolve("adapter_model.safetensors")));
        assertThat(logits(reloaded)).containsExactly(logits(model));
    }

    @Test
    @DisplayName("only the modules asked for are quantized; bad settings and wrapped modules are errors that say why")
    void settings() throws IOException {
        LlamaModel model = LlamaModel.load(floatModel());
        qlora.apply(model, new QloraConfig(128, false, List.of("mlp.up_proj"), null));
        assertThat(model.quantizedWeights()).extracting(QuantizedWeight::name)
                .containsExactly("model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight");
        assertThat(model.quantizedWeights().getFirst().data().blockSize()).isEqualTo(128);

        assertThatThrownBy(() -> new QloraConfig(48, null, null, null)).hasMessageContaining("blockSize");
        assertThatThrownBy(() -> new QloraConfig(null, null, List.of("q_proj("), null)).hasMessageStartingWith("quantizeModules");
        assertThatThrownBy(() -> qlora.apply(LlamaModel.load(floatModel()), new QloraConfig(null, null, List.of("c_attn"), null)))
                .isInstanceOf(TechniqueException.class).hasMessageContaining("c_attn");
        LlamaModel adapted = LlamaModel.load(floatModel());
        new LoraTechnique().apply(adapted, LoraConfig.defaults());
        assertThatThrownBy(() -> qlora.apply(adapted, QloraConfig.defaults())).isInstanceOf(TechniqueException.class)
                .hasMessageContaining("model.layers.0.self_attn.q_proj").hasMessageContaining("quantize the base before");
        assertThatThrownBy(() -> new QloraTechnique(new Tuner<Object>() {
            @Override
            public Class<Object> configType() {
                return Object.class;
            }

            @Override
            public String description() {
                return "not LoRA";
            }

            @Override
            public Tuning apply(Model model, Object config) {
                return null;
            }
        })).hasMessageContaining("qlora needs the lora tuner");
    }

    /** Tensor files kept in memory: what a tuning saves, read back as saved. */
    private static final class InMemoryTensors implements TensorFiles {
        private final Map<Path, SequencedMap<String, Parameter>> files = new HashMap<>();

        @Override
        public void write(Path file, SequencedMap<String, Parameter> tensors, Map<String, String> metadata) {
            files.put(file, new LinkedHashMap<>(tensors));
        }

        @Override
        public SequencedMap<String, Parameter> read(Path file) {
            return files.get(file);
        }

        @Override
        public void writeJson(Path file, Map<String, ?> content) {
            // The tests read tensors back, not the configuration beside them.
        }
    }
}
