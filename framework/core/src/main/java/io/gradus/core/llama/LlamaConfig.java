package io.gradus.core.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.core.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Predicate;

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
        // Each tensor lives in one float[]: its size must fit a Java array (products in double,
        // which cannot overflow, and are exact far beyond 2^31).
        double largest = Math.max(Math.max((double) vocabSize * hiddenSize, (double) intermediateSize * hiddenSize),
                (double) Math.max(numHeads, numKvHeads) * headDim * hiddenSize);
        if (largest > MAX_TENSOR) {
            throw new IllegalArgumentException("a weight of this configuration would hold " + (long) largest
                    + " values; Gradus keeps each weight in one array of at most " + MAX_TENSOR);
        }
    }

    /** The most values one weight may hold: the largest Java array. */
    private static final int MAX_TENSOR = Integer.MAX_VALUE - 8;

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
     * Reads {@code config.json}. Every field Gradus uses must hold a value of its type: an integer
     * field holding {@code 1.5}, {@code "64"} or {@code true} is an error naming the field, not a
     * value rounded or defaulted in silence.
     *
     * @throws IOException naming the file and the field when it is missing, malformed, not a Llama,
     *     or uses a feature Gradus does not implement (biases, rope scaling, another activation)
     */
    public static LlamaConfig read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no config.json");
        }
        JsonNode json = JsonFiles.readObject(file);
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
        JsonNode act = json.get("hidden_act");
        if (act != null && !act.isNull() && !"silu".equals(act.isTextual() ? act.asText() : null)) {
            throw new IOException(file + ": hidden_act " + act + " is not supported; Llama uses \"silu\"");
        }
        int hidden = integer(file, json, "hidden_size", null);
        int heads = integer(file, json, "num_attention_heads", null);
        try {
            return new LlamaConfig(
                    integer(file, json, "vocab_size", null),
                    hidden,
                    integer(file, json, "intermediate_size", null),
                    integer(file, json, "num_hidden_layers", null),
                    heads,
                    integer(file, json, "num_key_value_heads", heads),
                    // Hugging Face's default; the constructor refuses heads <= 0 before it matters.
                    integer(file, json, "head_dim", heads > 0 ? hidden / heads : 0),
                    number(file, json, "rms_norm_eps", 1e-6),
                    number(file, json, "rope_theta", 10000.0),
                    integer(file, json, "max_position_embeddings", 2048),
                    flag(file, json, "tie_word_embeddings"),
                    tokenId(file, json, "bos_token_id"),
                    tokenId(file, json, "eos_token_id"));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** An integer field; {@code fallback} when absent or null, or an error when it is null too. */
    private static int integer(Path file, JsonNode json, String field, Integer fallback) throws IOException {
        JsonNode node = typed(file, json, field, n -> n.isIntegralNumber() && n.canConvertToInt(),
                "an integer (at most " + Integer.MAX_VALUE + ")");
        if (node == null && fallback == null) {
            throw new IOException(file + ": field " + field + " is missing; it must be an integer");
        }
        return node == null ? fallback : node.intValue();
    }

    /** A number field, or {@code fallback} when absent or null. */
    private static double number(Path file, JsonNode json, String field, double fallback) throws IOException {
        JsonNode node = typed(file, json, field, JsonNode::isNumber, "a number");
        return node == null ? fallback : node.doubleValue();
    }

    /** A boolean field, false when absent or null. */
    private static boolean flag(Path file, JsonNode json, String field) throws IOException {
        JsonNode node = typed(file, json, field, JsonNode::isBoolean, "true or false");
        return node != null && node.booleanValue();
    }

    /**
     * The value of {@code field}, or null when it is absent or null; an error naming the field and
     * what it holds when that is not of the field's type.
     */
    private static JsonNode typed(Path file, JsonNode json, String field, Predicate<JsonNode> ofType, String type)
            throws IOException {
        JsonNode node = json.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!ofType.test(node)) {
            throw new IOException(file + ": field " + field + " must be " + type + ", found " + JsonFiles.shortly(node)
                    + " (" + JsonFiles.kind(node) + ")");
        }
        return node;
    }

    private static void unsupportedIfTrue(Path file, JsonNode json, String field) throws IOException {
        if (flag(file, json, field)) {
            throw new IOException(file + ": " + field + "=true is not supported; Llama has no biases");
        }
    }

    /**
     * A token id: an integer, or a list of them (Llama 3 lists several end tokens; the first is
     * taken), or -1 when absent or null.
     */
    private static int tokenId(Path file, JsonNode json, String field) throws IOException {
        JsonNode node = json.get(field);
        if (node != null && node.isArray() && !node.isEmpty()) {
            node = node.get(0);
        } else if (node != null && node.isArray()) {
            return -1;
        }
        if (node == null || node.isNull()) {
            return -1;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 0) {
            throw new IOException(file + ": field " + field + " must be a token id (an integer from 0), or a list of them, found "
                    + JsonFiles.shortly(json.get(field)));
        }
        return node.intValue();
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
