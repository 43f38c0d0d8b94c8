package io.gradus.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.core.io.JsonFiles;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Loads what users point at as "a model": a model folder (a causal LM or a
 * {@code LlamaForSequenceClassification}), or an adapter folder on its base model. One place for the
 * job's frozen models (a reward model for PPO, a reference for DPO), {@code gradus score} and the
 * demos.
 */
public final class ModelFolders {

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
     * @throws IOException naming the folder when it is neither, or adapter_config.json when it names no
     *     base, or one that is not a model folder
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
        JsonNode base = JsonFiles.readObject(adapterConfig).path("base_model_name_or_path");
        if (!base.isTextual() || base.asText().isBlank()) {
            throw new IOException(adapterConfig + ": base_model_name_or_path is "
                    + (base.isMissingNode() ? "missing" : base.isTextual() ? "empty" : JsonFiles.kind(base))
                    + ": the adapter does not say which model folder it adapts");
        }
        String named = base.asText().length() > 80 ? base.asText().substring(0, 77) + "..." : base.asText();
        Path model;
        try {
            model = folder.resolve(base.asText()).normalize();
        } catch (InvalidPathException e) {
            throw new IOException(adapterConfig + ": base_model_name_or_path '" + named + "' is not a path: " + e.getReason(), e);
        }
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IOException(adapterConfig + ": base_model_name_or_path '" + named + "' names no model folder here ("
                    + model + " has no config.json); give the base model's folder");
        }
        return model;
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
