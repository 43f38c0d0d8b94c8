package io.gradus.core.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The shape of a Llama model, as in Hugging Face's {@code config.json} for {@code LlamaForCausalLM}.
 *
 * @param vocabSize V
 * @param hiddenSize C
 * @param intermediateSize F, the width of the SwiGLU MLP
 * @param numLayers L
 * @param numHeads H, query heads
 * @param numKvHeads KV, key/value heads (grouped-query attention when KV &lt; H)
 * @param headDim D, per head (usually C / H)
 * @param rmsNormEps epsilon of RMSNorm
 * @param ropeTheta base of the rotary frequencies
 * @param maxPositions longest sequence the model was trained for
 * @param tieWordEmbeddings whether {@code lm_head} shares {@code embed_tokens}' weights
 * @param bosTokenId beginning-of-sequence token, or -1
 * @param eosTokenId end-of-sequence token, or -1
 */
public record LlamaConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        int maxPositions,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public LlamaConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKvHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositions);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads
                    + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim must be even for rotary embeddings, was " + headDim);
        }
        if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
            throw new IllegalArgumentException("rms_norm_eps and rope_theta must be positive");
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be > 0, was " + value);
        }
    }

    /** Query heads that share one key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /**
     * Reads {@code config.json}.
     *
     * @throws IOException naming the file and the field when it is missing, malformed, not a Llama,
     *     or uses a feature Gradus does not implement (biases, rope scaling, another activation)
     */
    public static LlamaConfig read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no config.json");
        }
        JsonNode json;
        try {
            json = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        String architecture = json.path("architectures").path(0).asText(json.path("model_type").asText("(none)"));
        if (!architecture.equals("LlamaForCausalLM") && !architecture.equals("llama")
                && !architecture.equals(ClassifierConfig.ARCHITECTURE)) {
            throw new IOException(file + ": architecture '" + architecture
                    + "' is not supported; Gradus runs LlamaForCausalLM and LlamaForSequenceClassification models");
        }
        unsupportedIfTrue(file, json, "attention_bias");
        unsupportedIfTrue(file, json, "mlp_bias");
        if (json.hasNonNull("rope_scaling")) {
            throw new IOException(file + ": rope_scaling " + json.get("rope_scaling")
                    + " is not supported yet; only plain RoPE is");
        }
        String act = json.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new IOException(file + ": hidden_act '" + act + "' is not supported; Llama uses silu");
        }
        try {
            int hidden = required(file, json, "hidden_size");
            int heads = required(file, json, "num_attention_heads");
            return new LlamaConfig(
                    required(file, json, "vocab_size"),
                    hidden,
                    required(file, json, "intermediate_size"),
                    required(file, json, "num_hidden_layers"),
                    heads,
                    json.path("num_key_value_heads").asInt(heads),
                    json.hasNonNull("head_dim") ? json.get("head_dim").asInt() : hidden / heads,
                    json.path("rms_norm_eps").asDouble(1e-6),
                    json.path("rope_theta").asDouble(10000.0),
                    json.path("max_position_embeddings").asInt(2048),
                    json.path("tie_word_embeddings").asBoolean(false),
                    tokenId(json.get("bos_token_id")),
                    tokenId(json.get("eos_token_id")));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static int required(Path file, JsonNode json, String field) throws IOException {
        JsonNode node = json.get(field);
        if (node == null || !node.canConvertToInt()) {
            throw new IOException(file + ": field " + field + " is missing or not an integer");
        }
        return node.asInt();
    }

    private static void unsupportedIfTrue(Path file, JsonNode json, String field) throws IOException {
        if (json.path(field).asBoolean(false)) {
            throw new IOException(file + ": " + field + "=true is not supported; Llama has no biases");
        }
    }

    /** A token id, or the first of a list (Llama 3 lists several end tokens), or -1. */
    private static int tokenId(JsonNode node) {
        if (node == null || node.isNull()) {
            return -1;
        }
        return node.isArray() ? node.path(0).asInt(-1) : node.asInt(-1);
    }

    /** This configuration as a Hugging Face {@code config.json}. */
    public ObjectNode toJson() {
        ObjectNode json = JSON.createObjectNode();
        json.putArray("architectures").add("LlamaForCausalLM");
        json.put("model_type", "llama");
        json.put("vocab_size", vocabSize);
        json.put("hidden_size", hiddenSize);
        json.put("intermediate_size", intermediateSize);
        json.put("num_hidden_layers", numLayers);
        json.put("num_attention_heads", numHeads);
        json.put("num_key_value_heads", numKvHeads);
        json.put("head_dim", headDim);
        json.put("hidden_act", "silu");
        json.put("rms_norm_eps", rmsNormEps);
        json.put("rope_theta", ropeTheta);
        json.put("max_position_embeddings", maxPositions);
        json.put("tie_word_embeddings", tieWordEmbeddings);
        json.put("attention_bias", false);
        json.put("mlp_bias", false);
        json.putNull("rope_scaling");
        json.put("torch_dtype", "float32");
        if (bosTokenId >= 0) {
            json.put("bos_token_id", bosTokenId);
        }
        if (eosTokenId >= 0) {
            json.put("eos_token_id", eosTokenId);
        }
        return json;
    }

    /** Writes {@link #toJson()} to {@code file}, pretty-printed. */
    public void write(Path file) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), toJson());
    }
}
