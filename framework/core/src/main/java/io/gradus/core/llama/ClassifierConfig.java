package io.gradus.core.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What {@code config.json} says beyond {@link LlamaConfig} about a model's output head: whether it is
 * transformers' {@code LlamaForSequenceClassification} (a reward model) and with which pad token,
 * and the initializer range a new head is drawn with.
 *
 * @param classifier the architecture is {@code LlamaForSequenceClassification}
 * @param padTokenId {@code pad_token_id}, or -1 when the file has none
 * @param initializerRange {@code initializer_range} (transformers' default 0.02): the standard
 *     deviation of a freshly initialised linear weight
 */
record ClassifierConfig(boolean classifier, int padTokenId, double initializerRange) {

    static final String ARCHITECTURE = "LlamaForSequenceClassification";

    /** A causal language model with transformers' defaults. */
    static final ClassifierConfig CAUSAL_LM = new ClassifierConfig(false, -1, 0.02);

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Reads the head's settings from {@code config.json}.
     *
     * @throws IOException naming the file and field when a sequence classifier does not have one label:
     *     transformers counts the labels of {@code id2label}, else takes {@code num_labels}, else 2
     */
    static ClassifierConfig read(Path file) throws IOException {
        JsonNode json = JSON.readTree(file.toFile());
        boolean classifier = ARCHITECTURE.equals(json.path("architectures").path(0).asText());
        int pad = json.hasNonNull("pad_token_id") ? json.get("pad_token_id").asInt(-1) : -1;
        double range = json.path("initializer_range").asDouble(0.02);
        if (classifier) {
            int labels;
            String field;
            if (json.path("id2label").isObject()) {
                labels = json.get("id2label").size();
                field = "id2label";
            } else if (json.hasNonNull("num_labels")) {
                labels = json.get("num_labels").asInt();
                field = "num_labels";
            } else {
                labels = 2;
                field = "num_labels (absent: transformers' default)";
            }
            if (labels != 1) {
                throw new IOException(file + ": field " + field + " gives " + labels + " labels; a reward model "
                        + "(LlamaForSequenceClassification) has num_labels 1, one score per sequence");
            }
        }
        return new ClassifierConfig(classifier, pad, range);
    }

    /** Writes the fields transformers reads for a sequence classifier with one label into {@code json}. */
    void writeClassifier(ObjectNode json) {
        json.putArray("architectures").add(ARCHITECTURE);
        json.put("num_labels", 1);
        json.putObject("id2label").put("0", "LABEL_0");
        json.putObject("label2id").put("LABEL_0", 0);
        json.put("problem_type", "regression");
        if (padTokenId >= 0) {
            json.put("pad_token_id", padTokenId);
        }
        json.put("initializer_range", initializerRange);
    }
}
