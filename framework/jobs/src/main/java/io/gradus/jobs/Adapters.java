package io.gradus.jobs;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gradus.api.model.Model;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Applies an adapter folder in PEFT's layout to a model: {@code adapter_config.json} names the
 * technique ({@code peft_type}, e.g. LORA → the {@code lora} tuner) and its settings in PEFT's
 * snake_case names, which bind to the tuner's configuration record; settings Gradus has no field for
 * (PEFT writes many) are ignored. {@code adapter_model.safetensors} holds the weights.
 */
public final class Adapters {

    private static final ObjectMapper SNAKE_CASE = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
            .build();

    private Adapters() {}

    /**
     * @throws IOException naming the folder and what is missing or wrong in it
     */
    @SuppressWarnings("unchecked")
    public static Tuning apply(Model model, Path adapterDir, TechniqueCatalog catalog) throws IOException {
        Path configFile = adapterDir.resolve("adapter_config.json");
        Path weights = adapterDir.resolve("adapter_model.safetensors");
        if (!Files.isRegularFile(configFile) || !Files.isRegularFile(weights)) {
            throw new IOException(adapterDir + " is not a PEFT adapter folder (adapter_config.json and "
                    + "adapter_model.safetensors)");
        }
        JsonNode config = SNAKE_CASE.readTree(configFile.toFile());
        String peftType = config.path("peft_type").asText("");
        String tunerName = peftType.toLowerCase(Locale.ROOT);
        Tuner<Object> tuner = (Tuner<Object>) catalog.tuner(tunerName, null)
                .orElseThrow(() -> new IOException(configFile + ": peft_type '" + peftType
                        + "' needs the tuner '" + tunerName + "', which is not installed"))
                .technique();
        Object bound;
        try {
            bound = SNAKE_CASE.treeToValue(config, tuner.configType());
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException(configFile + ": " + e.getMessage(), e);
        }
        return tuner.load(model, bound, new SafetensorsFiles().read(weights));
    }
}
