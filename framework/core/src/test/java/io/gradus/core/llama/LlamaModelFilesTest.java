package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.model.Parameter;
import io.gradus.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaModelFilesTest {

    @TempDir
    Path dir;

    private final LlamaConfig config = new LlamaConfig(11, 8, 12, 2, 4, 2, 2, 1e-5, 10000.0, 64, false, 1, 2);

    @Test
    @DisplayName("a saved model loads back with the same configuration and every value equal")
    void saveAndLoad() throws IOException {
        LlamaModel saved = LlamaModel.initialize(config, 7);
        saved.save(dir);

        LlamaModel loaded = LlamaModel.load(dir);

        assertThat(loaded.config()).isEqualTo(config);
        assertThat(loaded.parameters()).hasSameSizeAs(saved.parameters());
        for (int i = 0; i < saved.parameters().size(); i++) {
            Parameter a = saved.parameters().get(i);
            Parameter b = loaded.parameters().get(i);
            assertThat(b.name()).isEqualTo(a.name());
            assertThat(b.shape()).containsExactly(a.shape());
            assertThat(b.values()).containsExactly(a.values());
        }
    }

    @Test
    @DisplayName("a sharded checkpoint (model.safetensors.index.json) loads like a single file")
    void sharded() throws IOException {
        LlamaModel model = LlamaModel.initialize(config, 7);
        var first = new LinkedHashMap<String, SafeTensors.Tensor>();
        var second = new LinkedHashMap<String, SafeTensors.Tensor>();
        StringBuilder weightMap = new StringBuilder();
        for (Parameter p : model.parameters()) {
            boolean early = !p.name().startsWith("model.layers.1") && !p.name().startsWith("lm_head");
            (early ? first : second).put(p.name(), new SafeTensors.Tensor(p.shape(), p.values()));
            weightMap.append(weightMap.isEmpty() ? "" : ",").append('"').append(p.name()).append("\":\"")
                    .append(early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors").append('"');
        }
        config.write(dir.resolve("config.json"));
        SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), first, Map.of());
        SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of());
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{" + weightMap + "}}");

        LlamaModel loaded = LlamaModel.load(dir);
        assertThat(loaded.parameter("lm_head.weight").values()).containsExactly(model.lmHead().values());
        assertThat(loaded.parameter("model.layers.1.mlp.up_proj.weight").values())
                .containsExactly(model.parameter("model.layers.1.mlp.up_proj.weight").values());
    }

    @Test
    @DisplayName("missing files, other architectures, missing and misshapen tensors are named in the error")
    void clearErrors() throws IOException {
        assertThatThrownBy(() -> LlamaModel.load(dir)).hasMessageContaining("config.json");

        LlamaModel.initialize(config, 7).save(dir);
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("LlamaForCausalLM", "GPT2LMHeadModel"));
        assertThatThrownBy(() -> LlamaModel.load(dir)).hasMessageContaining("GPT2LMHeadModel").hasMessageContaining("config.json");

        LlamaConfig wider = new LlamaConfig(11, 8, 16, 2, 4, 2, 2, 1e-5, 10000.0, 64, false, 1, 2);
        wider.write(dir.resolve("config.json"));
        assertThatThrownBy(() -> LlamaModel.load(dir))
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("model.layers.0.mlp.gate_proj.weight")
                .hasMessageContaining("[12, 8]")
                .hasMessageContaining("[16, 8]");

        LlamaConfig deeper = new LlamaConfig(11, 8, 12, 3, 4, 2, 2, 1e-5, 10000.0, 64, false, 1, 2);
        deeper.write(dir.resolve("config.json"));
        assertThatThrownBy(() -> LlamaModel.load(dir)).hasMessageContaining("no weights for tensor model.layers.2.");

        Files.delete(dir.resolve("model.safetensors"));
        config.write(dir.resolve("config.json"));
        assertThatThrownBy(() -> LlamaModel.load(dir)).hasMessageContaining("no model.safetensors");
    }
}
