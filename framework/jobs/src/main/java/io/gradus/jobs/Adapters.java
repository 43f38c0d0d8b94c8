package io.gradus.jobs;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.function.Function;

/**
 * Applies an adapter folder to a model. Its {@code adapter_config.json} says which technique it is,
 * in one of two layouts:
 * <ul>
 *   <li>PEFT's: {@code peft_type} names the tuner (LORA → {@code lora}), the settings are the file's
 *       fields, the weights are in {@code adapter_model.safetensors};
 *   <li>the AdapterHub {@code adapters} library's: a {@code config} object holds the settings of a
 *       bottleneck adapter (the {@code adapters} tuner) and {@code name} the adapter's name, the
 *       weights are in {@code adapter.safetensors}.
 * </ul>
 * Settings in snake_case bind to the tuner's configuration record; settings Gradus has no field for
 * (both libraries write many) are ignored. A PEFT adapter whose {@code task_type} is {@code SEQ_CLS}
 * belongs to a sequence classifier (a reward model): a causal base model is turned into one first, and
 * the adapter brings the score head (PEFT's {@code modules_to_save}).
 *
 * <p>The tuner's {@code load} is a technique's code: it runs under the job service's protection
 * ({@link TechniqueFaults}), on a thread of its own within the apply timeout, and what it throws
 * is reported naming the technique, its bundle and version.
 */
public final class Adapters {

    private static final ObjectMapper SNAKE_CASE = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
            .build();

    /** PEFT's task type of a sequence classifier ({@code TaskType.SEQ_CLS}). */
    public static final String SEQUENCE_CLASSIFICATION = "SEQ_CLS";

    private Adapters() {}

    /**
     * An adapter folder as read: the tuner its {@code adapter_config.json} names, the settings for
     * that tuner's configuration record (snake_case, as the file has them), and its weights file.
     *
     * @param folder the adapter folder
     * @param tuner the tuner's name ({@code lora}, {@code adapters}, ...)
     * @param settings the settings the tuner's configuration record binds
     * @param weights the safetensors file of its tensors
     * @param sequenceClassifier a PEFT adapter of {@code task_type} SEQ_CLS: its model is a sequence
     *     classifier (a reward model), and the adapter brings the score head
     */
    public record Saved(Path folder, String tuner, JsonNode settings, Path weights, boolean sequenceClassifier) {

        /** The folder's {@code adapter_config.json}, for messages. */
        public Path configFile() {
            return folder.resolve("adapter_config.json");
        }
    }

    /**
     * Reads what an adapter folder says about itself.
     *
     * @throws IOException naming the file, and the field, that is missing or wrong
     */
    public static Saved read(Path adapterDir) throws IOException {
        Path configFile = adapterDir.resolve("adapter_config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new IOException(adapterDir + " is not an adapter folder: it has no adapter_config.json");
        }
        JsonNode config = SNAKE_CASE.readTree(configFile.toFile());
        Saved saved;
        if (config.has("peft_type")) {
            saved = new Saved(adapterDir, config.path("peft_type").asText("").toLowerCase(Locale.ROOT), config,
                    adapterDir.resolve("adapter_model.safetensors"),
                    SEQUENCE_CLASSIFICATION.equals(config.path("task_type").asText()));
        } else if (config.path("config").isObject()) {
            saved = new Saved(adapterDir, "adapters",
                    ((ObjectNode) config.get("config").deepCopy()).put("adapter_name", config.path("name").asText(null)),
                    adapterDir.resolve("adapter.safetensors"), false);
            if (!Files.isRegularFile(saved.weights()) && Files.isRegularFile(adapterDir.resolve("pytorch_adapter.bin"))) {
                throw new IOException(adapterDir.resolve("pytorch_adapter.bin") + " is a PyTorch pickle, which Gradus does "
                        + "not read: save the adapter with save_adapter(..., use_safetensors=True) to get adapter.safetensors");
            }
        } else {
            throw new IOException(configFile + " names no technique: it has neither PEFT's peft_type nor the adapters "
                    + "library's config object");
        }
        if (!Files.isRegularFile(saved.weights())) {
            throw new IOException(adapterDir + " has no " + saved.weights().getFileName() + " beside its adapter_config.json");
        }
        return saved;
    }

    /**
     * The adapter's settings bound to its tuner's configuration record (settings the record has no
     * field for are ignored).
     *
     * @throws IOException naming the file and what the record refused
     */
    public static <C> C bind(Saved saved, Class<C> configType) throws IOException {
        try {
            return SNAKE_CASE.treeToValue(saved.settings(), configType);
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException(saved.configFile() + ": " + reason(e), e);
        }
    }

    /**
     * Applies {@code tuner} with {@code config} and the adapter's weights to {@code model}; a SEQ_CLS
     * adapter first turns a causal model into a sequence classifier, whose head the adapter brings.
     *
     * @throws IOException naming the weights file when its tensors do not fit
     */
    public static Tuning load(Model model, Saved saved, Tuner<Object> tuner, Object config) throws IOException {
        SequencedMap<String, Parameter> tensors = prepare(model, saved);
        try {
            return tuner.load(model, config, tensors);
        } catch (TechniqueException e) {
            throw new IOException(saved.weights() + ": " + e.getMessage(), e);
        }
    }

    /** The adapter's tensors, read, and the model made a sequence classifier first when the adapter is one. */
    private static SequencedMap<String, Parameter> prepare(Model model, Saved saved) throws IOException {
        if (saved.sequenceClassifier() && model.scoreHead().isEmpty()) {
            if (!(model instanceof LlamaModel llama)) {
                throw new IOException(saved.configFile() + ": a SEQ_CLS adapter needs a Llama model to become a sequence "
                        + "classifier");
            }
            // The head's values come with the adapter's tensors.
            llama.setScoreHead(new float[llama.config().hiddenSize()]);
        }
        return new SafetensorsFiles().read(saved.weights());
    }

    /**
     * An adapter applied to a model: its tuning, and the tuner that loaded it (whose code the model
     * now runs).
     */
    public record Applied(Tuning tuning, TechniqueCatalog.Found<Tuner<?>> tuner) {}

    /**
     * Applies the adapter, waiting for the tuner's {@code load} at most the configured apply timeout
     * ({@code -Dgradus.jobs.apply.timeout}).
     *
     * @throws IOException naming the file, and the field or tensor, that is missing or wrong
     * @throws RuntimeException naming the tuner, its bundle and version, when its code failed or hung
     */
    public static Tuning apply(Model model, Path adapterDir, TechniqueCatalog catalog) throws IOException {
        return apply(model, adapterDir, catalog, TechniqueFaults.configuredApplyTimeout()).tuning();
    }

    /**
     * Applies the adapter with the highest installed version of the tuner it names, waiting for the
     * tuner's {@code load} at most {@code timeout}.
     *
     * @throws IOException naming the file, and the field or tensor, that is missing or wrong
     * @throws RuntimeException naming the tuner, its bundle and version, when its code failed or hung
     */
    public static Applied apply(Model model, Path adapterDir, TechniqueCatalog catalog, Duration timeout) throws IOException {
        return apply(model, adapterDir, name -> catalog.tuner(name, null), timeout);
    }

    /**
     * Applies the adapter with the tuner {@code tuners} gives for the name it names (a job's result:
     * the revision the job ran), waiting for the tuner's {@code load} at most {@code timeout}.
     *
     * @param tuners the tuner to load with, by name; empty when none is installed
     * @throws IOException naming the file, and the field or tensor, that is missing or wrong
     * @throws RuntimeException naming the tuner, its bundle and version, when its code failed or hung
     */
    @SuppressWarnings("unchecked")
    public static Applied apply(Model model, Path adapterDir, Function<String, Optional<TechniqueCatalog.Found<Tuner<?>>>> tuners,
            Duration timeout) throws IOException {
        Saved saved = read(adapterDir);
        TechniqueCatalog.Found<Tuner<?>> found = tuners.apply(saved.tuner())
                .orElseThrow(() -> new IOException(saved.configFile() + " needs the tuner '" + saved.tuner()
                        + "', which is not installed"));
        Tuner<Object> tuner = (Tuner<Object>) found.technique();
        Object bound = bind(saved, tuner.configType());
        SequencedMap<String, Parameter> tensors = prepare(model, saved);
        TechniqueFaults faults = new TechniqueFaults(List.of(found));
        try {
            return new Applied(faults.within(timeout, found.descriptor(), "load", () -> tuner.load(model, bound, tensors)), found);
        } catch (TechniqueException e) {
            throw new IOException(saved.weights() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw faults.blame(e).<RuntimeException>map(failure -> failure).orElse(e);
        }
    }

    /** What a configuration record said was wrong (the root cause), rather than the binder's wrapping of it. */
    private static String reason(Exception e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root instanceof IllegalArgumentException && root != e ? root.getMessage() : e.getMessage();
    }
}
