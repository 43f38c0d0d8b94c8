package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.model.Parameter;
import io.gradus.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "hidden_size         | 8.5           | field hidden_size must be an integer",
        "num_key_value_heads | true          | field num_key_value_heads must be an integer",
        "num_hidden_layers   | \"2\"         | field num_hidden_layers must be an integer",
        "tie_word_embeddings | \"yes\"       | field tie_word_embeddings must be true or false",
        "rms_norm_eps        | \"small\"     | field rms_norm_eps must be a number",
        "bos_token_id        | \"<s>\"       | field bos_token_id must be a token id",
        "head_dim            | 1099511627776 | field head_dim must be an integer"})
    @DisplayName("a config.json field of the wrong type is an error naming the field, not a value rounded or defaulted (found by fuzzing)")
    void configFieldOfWrongType(String field, String value, String message) throws IOException {
        ObjectNode json = config.toJson();
        json.set(field, new ObjectMapper().readTree(value));
        Files.writeString(dir.resolve("config.json"), json.toString());
        assertThatThrownBy(() -> LlamaConfig.read(dir.resolve("config.json"))).isInstanceOf(IOException.class)
                .hasMessageContaining("config.json").hasMessageContaining(message);
    }

    @Test
    @DisplayName("num_attention_heads 0 without head_dim is an error naming the field, not a division by zero (found by fuzzing)")
    void zeroHeads() throws IOException {
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "vocab_size": 11, "hidden_size": 8, "intermediate_size": 12,
                 "num_hidden_layers": 2, "num_attention_heads": 0}""");
        assertThatThrownBy(() -> LlamaConfig.read(dir.resolve("config.json"))).isInstanceOf(IOException.class)
                .hasMessageContaining("config.json").hasMessageContaining("num_attention_heads must be > 0");
    }

    @Test
    @DisplayName("a config.json that is not JSON names the line and column, without the parser's internals (found by fuzzing)")
    void malformedConfig() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"vocab_size\": 11,\n \"hidden_size\": }");
        assertThatThrownBy(() -> LlamaConfig.read(dir.resolve("config.json"))).hasMessageContaining("config.json")
                .hasMessageContaining("line 2, column 17").hasMessageNotContaining("Source");
        Files.writeString(dir.resolve("config.json"), "");
        assertThatThrownBy(() -> LlamaConfig.read(dir.resolve("config.json"))).hasMessageContaining("config.json: the file is empty");
    }

    @Test
    @DisplayName("a config.json whose weights would not fit a Java array is refused before anything is read (found by fuzzing)")
    void configTooLarge() throws IOException {
        Files.writeString(dir.resolve("config.json"), config.toJson().put("vocab_size", 1 << 30).toString());
        assertThatThrownBy(() -> LlamaConfig.read(dir.resolve("config.json"))).hasMessageContaining("config.json")
                .hasMessageContaining("would hold 8589934592 values");
    }

    @Test
    @DisplayName("a config.json claiming 2 billion layers over a 2-layer file fails at once, naming the first missing tensor (found by fuzzing)")
    void absurdLayerCount() throws IOException {
        LlamaModel.initialize(config, 7).save(dir);
        Files.writeString(dir.resolve("config.json"), config.toJson().put("num_hidden_layers", 2_000_000_000).toString());
        // Listing the 18 billion expected tensor names first never ended (or ran out of memory).
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(() -> LlamaModel.load(dir))
                .hasMessageContaining("no weights for tensor model.layers.2.input_layernorm.weight"));
    }

    @Test
    @DisplayName("a shard index naming files outside the folder, unusable names or one tensor twice is refused (found by fuzzing)")
    void shardIndexes() throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        LlamaModel.initialize(config, 7).save(dir.resolve("elsewhere"));
        Files.copy(dir.resolve("elsewhere/config.json"), model.resolve("config.json"));
        StringBuilder all = new StringBuilder();
        for (String name : LlamaModel.expectedShapes(config, false).keySet()) {
            all.append(all.isEmpty() ? "" : ",").append('"').append(name).append("\":\"SHARD\"");
        }
        Path index = model.resolve("model.safetensors.index.json");
        for (String shard : List.of("../elsewhere/model.safetensors", "..", "x\\u0000y")) {
            Files.writeString(index, "{\"weight_map\":{" + all.toString().replace("SHARD", shard) + "}}");
            assertThatThrownBy(() -> LlamaModel.load(model)).isInstanceOf(IOException.class)
                    .hasMessageContaining("model.safetensors.index.json").hasMessageContaining("weight_map");
        }
        Files.copy(dir.resolve("elsewhere/model.safetensors"), model.resolve("a.safetensors"));
        Files.copy(dir.resolve("elsewhere/model.safetensors"), model.resolve("b.safetensors"));
        Files.writeString(index, "{\"weight_map\":{\"model.norm.weight\":\"a.safetensors\",\"lm_head.weight\":\"b.safetensors\"}}");
        assertThatThrownBy(() -> LlamaModel.load(model)).hasMessageContainingAll("b.safetensors: tensor model.embed_tokens.weight is also in ", "a.safetensors");
    }
}
