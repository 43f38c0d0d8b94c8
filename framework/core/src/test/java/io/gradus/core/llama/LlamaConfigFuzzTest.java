package io.gradus.core.llama;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.ScratchFolder;
import java.io.IOException;
import java.nio.file.Path;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzes {@link LlamaConfig#read}: a damaged {@code config.json} is refused with a clean error, or
 * read as the file says, field by field ({@link #assertReadAsWritten}).
 */
class LlamaConfigFuzzTest {

    /** A Llama 3 style config: GQA, untied, a list of end tokens. */
    static final String SEED = """
            {"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":11,"hidden_size":8,\
            "intermediate_size":12,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,\
            "head_dim":2,"hidden_act":"silu","rms_norm_eps":1e-5,"rope_theta":10000.0,\
            "max_position_embeddings":64,"tie_word_embeddings":false,"attention_bias":false,"mlp_bias":false,\
            "rope_scaling":null,"torch_dtype":"float32","bos_token_id":1,"eos_token_id":[2,3]}""";

    private final ScratchFolder scratch = new ScratchFolder("config-fuzz");

    @Provide
    Arbitrary<Mutant> configs() {
        return Mutations.json(Mutations.parse(SEED));
    }

    @Property(tries = 4000, seed = Mutations.SEED)
    @Label("a damaged config.json is read as written or refused cleanly")
    void damagedConfigs(@ForAll("configs") Mutant input) throws IOException {
        Path file = scratch.write("config.json", input.bytes());
        CleanLoad.attempt(() -> LlamaConfig.read(file), file)
                .ifPresent(config -> assertReadAsWritten(Mutations.parse(new String(input.bytes(), UTF_8)), config));
    }

    /**
     * What an accepted config.json must have said, from Hugging Face's LlamaConfig: a Llama
     * architecture, every size an integer (no fraction, text or boolean read as one), the
     * documented defaults for what is absent or null, no biases, rope scaling or other activation.
     */
    static void assertReadAsWritten(JsonNode json, LlamaConfig config) {
        JsonNode architecture = json.path("architectures").path(0);
        assertThat(architecture.isTextual() ? architecture.asText() : json.path("model_type").asText())
                .as("architecture").isIn("LlamaForCausalLM", "llama");
        assertInteger(json, "vocab_size", null, config.vocabSize());
        assertInteger(json, "hidden_size", null, config.hiddenSize());
        assertInteger(json, "intermediate_size", null, config.intermediateSize());
        assertInteger(json, "num_hidden_layers", null, config.numLayers());
        assertInteger(json, "num_attention_heads", null, config.numHeads());
        assertInteger(json, "num_key_value_heads", config.numHeads(), config.numKvHeads());
        assertInteger(json, "head_dim", config.hiddenSize() / config.numHeads(), config.headDim());
        assertInteger(json, "max_position_embeddings", 2048, config.maxPositions());
        assertNumber(json, "rms_norm_eps", 1e-6, config.rmsNormEps());
        assertNumber(json, "rope_theta", 10000.0, config.ropeTheta());
        JsonNode tied = json.get("tie_word_embeddings");
        assertThat(absent(json, "tie_word_embeddings") || tied.isBoolean()).as("tie_word_embeddings accepted from " + tied).isTrue();
        assertThat(config.tieWordEmbeddings()).as("tie_word_embeddings").isEqualTo(tied != null && tied.booleanValue());
        for (String bias : new String[] {"attention_bias", "mlp_bias"}) {
            assertThat(absent(json, bias) || json.get(bias).isBoolean() && !json.get(bias).booleanValue()).as(bias).isTrue();
        }
        assertThat(absent(json, "rope_scaling")).as("rope_scaling").isTrue();
        assertThat(absent(json, "hidden_act") || json.get("hidden_act").asText().equals("silu")
                && json.get("hidden_act").isTextual()).as("hidden_act").isTrue();
        assertTokenId(json, "bos_token_id", config.bosTokenId());
        assertTokenId(json, "eos_token_id", config.eosTokenId());
    }

    private static boolean absent(JsonNode json, String field) {
        return !json.has(field) || json.get(field).isNull();
    }

    private static void assertInteger(JsonNode json, String field, Integer fallback, int read) {
        if (absent(json, field)) {
            assertThat(fallback).as(field + " is required").isNotNull();
            assertThat(read).as(field + " (default)").isEqualTo(fallback);
            return;
        }
        JsonNode node = json.get(field);
        assertThat(node.isIntegralNumber() && node.canConvertToInt()).as(field + " accepted as " + read + " from " + node).isTrue();
        assertThat(read).as(field).isEqualTo(node.intValue());
    }

    private static void assertNumber(JsonNode json, String field, double fallback, double read) {
        JsonNode node = json.get(field);
        assertThat(absent(json, field) ? fallback : node.isNumber() ? node.doubleValue() : Double.NaN)
                .as(field + " accepted as " + read + " from " + node).isEqualTo(read);
    }

    private static void assertTokenId(JsonNode json, String field, int read) {
        JsonNode node = json.get(field);
        if (node != null && node.isArray()) {
            node = node.isEmpty() ? null : node.get(0);
        }
        if (node == null || node.isNull()) {
            assertThat(read).as(field).isEqualTo(-1);
            return;
        }
        assertThat(node.isIntegralNumber() && node.canConvertToInt() && node.intValue() >= 0)
                .as(field + " accepted as " + read + " from " + node).isTrue();
        assertThat(read).as(field).isEqualTo(node.intValue());
    }
}
