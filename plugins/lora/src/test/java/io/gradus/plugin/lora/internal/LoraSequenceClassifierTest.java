package io.gradus.plugin.lora.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.ScalarHead;
import io.gradus.api.technique.TechniqueException;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.testkit.TinyLlama;
import java.nio.file.Path;
import java.util.List;
import java.util.SequencedMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA on a sequence classifier (a reward model), as PEFT's PeftModelForSequenceClassification treats one. */
class LoraSequenceClassifierTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final TinyLlama.Shape SHAPE = new TinyLlama.Shape(20, 16, 24, 2, 4, 2, 4);
    private static final LoraConfig LORA = new LoraConfig(4, 8.0, null, List.of("q_proj", "v_proj"), null, null);

    private static LlamaModel classifier(long seed) {
        LlamaModel model = TinyLlama.random(SHAPE, 0.3, seed).model();
        model.toSequenceClassifier(seed);
        return model;
    }

    private static float[] scores(LlamaModel model) {
        int[] ids = {1, 4, 5, 6, 2, 1, 7, 8, 2, 2};
        TokenBatch batch = new TokenBatch(2, 5, ids, new int[10], new int[] {5, 4}, null);
        var head = model.scoreHead().orElseThrow();
        return new ScalarHead(head.weight(), batch.lastTokens(head.padTokenId()))
                .forward(new LlamaEngine(model, KERNELS).infer(batch, false).hidden(), KERNELS).clone();
    }

    @Test
    @DisplayName("the score head trains in full beside the factors, and saves as PEFT's modules_to_save with task_type SEQ_CLS")
    void headTrainsAndSaves(@TempDir Path dir) throws Exception {
        LlamaModel model = classifier(3);
        LoraTechnique.LoraTuning tuning = new LoraTechnique().apply(model, LORA, 5);
        Parameter head = model.scoreHead().orElseThrow().weight();
        assertThat(tuning.trainableParameters()).contains(head).hasSize(2 * 2 * 2 + 1);
        assertThat(head.trainable()).isTrue();
        RandomFactors.randomizeB(tuning, 0.2, 9);
        head.values()[3] += 0.5f;

        tuning.save(dir, new SafetensorsFiles(), "base");
        JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertThat(config.get("task_type").asText()).isEqualTo("SEQ_CLS");
        assertThat(config.get("modules_to_save")).extracting(JsonNode::asText).containsExactly("classifier", "score");
        SequencedMap<String, Parameter> saved = new SafetensorsFiles().read(dir.resolve("adapter_model.safetensors"));
        assertThat(saved.keySet()).contains("base_model.model.score.weight",
                "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
        assertThat(saved.get("base_model.model.score.weight").values()).containsExactly(head.values());

        LlamaModel fresh = TinyLlama.random(SHAPE, 0.3, 3).model();
        fresh.setScoreHead(new float[SHAPE.hidden()]); // as a SEQ_CLS adapter's loader does before loading
        new LoraTechnique().load(fresh, LORA, saved);
        assertThat(scores(fresh)).containsExactly(scores(model));
    }

    @Test
    @DisplayName("an adapter for a sequence classifier without the head's tensor is refused naming it")
    void refusesMissingHead(@TempDir Path dir) throws Exception {
        LlamaModel causal = TinyLlama.random(SHAPE, 0.3, 3).model();
        new LoraTechnique().apply(causal, LORA, 5).save(dir, new SafetensorsFiles(), "base");
        SequencedMap<String, Parameter> saved = new SafetensorsFiles().read(dir.resolve("adapter_model.safetensors"));
        assertThatThrownBy(() -> new LoraTechnique().load(classifier(3), LORA, saved))
                .isInstanceOf(TechniqueException.class).hasMessageContaining("base_model.model.score.weight");
    }
}
