package io.gradus.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads what users point at as "a model": a model folder (a causal LM or a
 * {@code LlamaForSequenceClassification}), or an adapter folder on its base model. One place for the
 * job's frozen models (a reward model for PPO, a reference for DPO), {@code gradus score} and the
 * demos.
 */
public final class ModelFolders {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFolders() {}

    /**
     * {@code folder} as a model: itself when it holds {@code config.json}; an adapter folder
     * ({@code adapter_config.json}) applied on the model its {@code base_model_name_or_path} names
     * (relative to the adapter folder when not absolute).
     *
     * @throws IOException naming the folder and what is missing or wrong
     */
    public static LlamaModel load(Path folder, TechniqueCatalog catalog) throws IOException {
        Path model = modelFolder(folder);
        return model.equals(folder) ? LlamaModel.load(folder) : load(model, folder, catalog);
    }

    /**
     * The model folder of what {@code folder} is: itself when it holds {@code config.json}, the base
     * of an adapter folder ({@code base_model_name_or_path}, relative to the adapter folder when not
     * absolute).
     *
     * @throws IOException naming the folder when it is neither, or the adapter names no base
     */
    public static Path modelFolder(Path folder) throws IOException {
        if (Files.isRegularFile(folder.resolve("config.json"))) {
            return folder;
        }
        Path adapterConfig = folder.resolve("adapter_config.json");
        if (!Files.isRegularFile(adapterConfig)) {
            throw new IOException(folder + " is neither a model folder (config.json) nor an adapter folder "
                    + "(adapter_config.json)");
        }
        JsonNode config = JSON.readTree(adapterConfig.toFile());
        String base = config.path("base_model_name_or_path").asText("");
        if (base.isBlank()) {
            throw new IOException(adapterConfig + ": field base_model_name_or_path is missing: the adapter does not say "
                    + "which model it adapts");
        }
        return folder.resolve(base).normalize();
    }

    /** The model folder {@code model} with the adapter {@code adapter} applied (none when null). */
    public static LlamaModel load(Path model, Path adapter, TechniqueCatalog catalog) throws IOException {
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IOException("model folder " + model + " has no config.json");
        }
        LlamaModel loaded = LlamaModel.load(model);
        if (adapter != null) {
            Adapters.apply(loaded, adapter, catalog);
        }
        return loaded;
    }
}
