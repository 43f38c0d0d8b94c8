package io.gradus.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.JsonFiles;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.function.Function;
import java.util.regex.Pattern;

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
 * <p>A file is read as the library that wrote it reads it, or refused: PEFT's LoRA defaults for what
 * the file leaves out ({@code r} 8, {@code lora_alpha} 8, {@code q_proj} and {@code v_proj}), its
 * meaning of {@code target_modules} (a list: names or name endings; a string: a pattern the whole
 * module name matches, or {@code all-linear}), and a refusal of the PEFT features that would change
 * what the adapter computes and that Gradus does not implement (DoRA, per-module ranks and alphas,
 * some layers only, ...); the adapters library's required fields, its legacy activation names, and
 * no {@code null} where it would read one as false. Values must have the JSON type the library
 * gives them: no {@code "true"} for true, no {@code 4.0} for a rank. See docs/DESIGN.md, "Reading
 * adapter_config.json".
 *
 * <p>The tuner's {@code load} is a technique's code: it runs under the job service's protection
 * ({@link TechniqueFaults}), on a thread of its own within the apply timeout, and what it throws
 * is reported naming the technique, its bundle and version.
 */
public final class Adapters {

    /**
     * Snake_case settings to a configuration record, with no coercion: Python reads {@code "false"}
     * as true and a rank of {@code 4.0} fails in PyTorch, so neither means what a cast would make of it.
     */
    private static final ObjectMapper SNAKE_CASE = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    /** PEFT's task type of a sequence classifier ({@code TaskType.SEQ_CLS}). */
    public static final String SEQUENCE_CLASSIFICATION = "SEQ_CLS";

    /** The task types whose adapters fit a Llama model Gradus loads: a causal LM and a sequence classifier. */
    private static final List<String> TASK_TYPES = List.of("CAUSAL_LM", SEQUENCE_CLASSIFICATION);

    /**
     * PEFT LoRA settings that change what the adapter computes and that Gradus does not implement:
     * a file may leave them out, or give null, false or an empty value, as PEFT writes them when unused.
     */
    private static final Map<String, String> PEFT_LORA_UNSUPPORTED = Map.of(
            "use_dora", "DoRA (a magnitude vector besides the low-rank update)",
            "lora_bias", "a bias on lora_B",
            "rank_pattern", "a rank per module",
            "alpha_pattern", "an alpha per module",
            "layers_to_transform", "LoRA on some layers only",
            "exclude_modules", "modules excluded from target_modules",
            "layer_replication", "replicated layers");

    /** PEFT's defaults (LoraConfig) for the settings Gradus reads, where the file leaves them out. */
    private static final Map<String, Integer> PEFT_LORA_DEFAULTS = Map.of("r", 8, "lora_alpha", 8);

    /** The fields the adapters library's BnConfig requires (no default). */
    private static final List<String> BOTTLENECK_REQUIRED = List.of("mh_adapter", "output_adapter", "reduction_factor",
            "non_linearity");

    /**
     * BnConfig fields whose default is a value: the library reads an explicit null as None, which its
     * code takes for false (or fails on), never for the default.
     */
    private static final List<String> BOTTLENECK_NOT_NULL = List.of("original_ln_before", "original_ln_after",
            "residual_before_ln", "scaling", "dropout", "leave_out", "ln_before", "ln_after", "is_parallel", "use_gating",
            "phm_layer", "init_weights", "stochastic_depth");

    /** Gradus' own settings of the adapters tuner, which are not the library's: a file does not set them. */
    private static final List<String> GRADUS_ONLY_BOTTLENECK_SETTINGS = List.of("preset", "bottleneck_size", "adapter_name");

    /** The library's renames of activations in files without a version ({@code ACTIVATION_RENAME}, legacy files). */
    private static final Map<String, String> LEGACY_ACTIVATIONS = Map.of("gelu", "gelu_new", "gelu_orig", "gelu");

    /** Characters that make a PEFT target a pattern in the lora tuner's configuration (see LoraConfig). */
    private static final Pattern PATTERN_CHARACTERS = Pattern.compile("[*+?\\[\\]()|^$\\\\]");

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
        JsonNode config = JsonFiles.readObject(configFile);
        Saved saved;
        if (config.has("peft_type")) {
            JsonNode peftType = config.get("peft_type");
            if (!peftType.isTextual()) {
                throw new IOException(configFile + ": peft_type is " + JsonFiles.kind(peftType)
                        + ", not the name of a PEFT method such as \"LORA\"");
            }
            String tuner = peftType.asText().toLowerCase(Locale.ROOT);
            saved = new Saved(adapterDir, tuner, tuner.equals("lora") ? peftLoraSettings((ObjectNode) config, configFile)
                    : config, adapterDir.resolve("adapter_model.safetensors"),
                    SEQUENCE_CLASSIFICATION.equals(taskType(config, configFile)));
        } else if (config.path("config").isObject()) {
            saved = new Saved(adapterDir, "adapters", bottleneckSettings(config, configFile),
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
     * field for are ignored; values are not coerced to another type).
     *
     * @throws IOException naming the file and what the record refused
     */
    public static <C> C bind(Saved saved, Class<C> configType) throws IOException {
        try {
            return SNAKE_CASE.treeToValue(saved.settings(), configType);
        } catch (JsonProcessingException e) {
            throw new IOException(saved.configFile() + ": " + JobFiles.explain(e), e);
        } catch (IllegalArgumentException e) {
            throw new IOException(saved.configFile() + ": " + e.getMessage(), e);
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

    /** PEFT's {@code task_type}: absent, null, or one Gradus can load. */
    private static String taskType(JsonNode config, Path configFile) throws IOException {
        JsonNode task = config.path("task_type");
        if (task.isMissingNode() || task.isNull()) {
            return null;
        }
        if (!task.isTextual() || !TASK_TYPES.contains(task.asText())) {
            throw new IOException(configFile + ": task_type " + JsonFiles.shortly(task) + " is not one Gradus loads: it loads adapters "
                    + "of causal language models (CAUSAL_LM) and of sequence classifiers (SEQ_CLS)");
        }
        return task.asText();
    }

    /**
     * The settings of a PEFT LoRA file as PEFT reads them, for the lora tuner's configuration: its
     * defaults filled in, {@code target_modules} in the tuner's terms, unsupported features refused.
     */
    private static ObjectNode peftLoraSettings(ObjectNode config, Path configFile) throws IOException {
        for (var unsupported : PEFT_LORA_UNSUPPORTED.entrySet()) {
            JsonNode value = config.path(unsupported.getKey());
            boolean unused = value.isMissingNode() || value.isNull() || (value.isBoolean() && !value.asBoolean())
                    || (value.isContainerNode() && value.isEmpty());
            if (!unused) {
                throw new IOException(configFile + ": " + unsupported.getKey() + " is " + JsonFiles.shortly(value) + ": "
                        + unsupported.getValue() + " is not supported; Gradus loads LoRA adapters with one rank and one "
                        + "alpha on every targeted module of every layer");
            }
        }
        ObjectNode settings = config.deepCopy();
        for (var fallback : PEFT_LORA_DEFAULTS.entrySet()) {
            if (settings.path(fallback.getKey()).isMissingNode() || settings.path(fallback.getKey()).isNull()) {
                settings.put(fallback.getKey(), fallback.getValue());
            }
        }
        JsonNode targets = config.path("target_modules");
        if (targets.isTextual()) {
            // One string is a pattern the whole module name must match (re.fullmatch), or PEFT's all-linear.
            String target = targets.asText();
            settings.putArray("target_modules").add(target.equalsIgnoreCase("all-linear") ? "all-linear" : "(?:" + target + ")");
        } else if (targets.isArray()) {
            if (targets.isEmpty()) {
                throw new IOException(configFile + ": target_modules is an empty list: the adapter targets no module");
            }
            ArrayNode names = settings.putArray("target_modules");
            for (JsonNode target : targets) {
                if (!target.isTextual()) {
                    throw new IOException(configFile + ": target_modules holds " + JsonFiles.kind(target) + " ("
                            + JsonFiles.shortly(target) + "), not a module name");
                }
                // A list entry is a name or a name's ending, never a pattern: written as the tuner's
                // pattern for exactly that when it holds characters the tuner would read as one.
                String name = target.asText();
                boolean literal = !PATTERN_CHARACTERS.matcher(name).find() && !name.equals("all-linear");
                names.add(literal ? name : "(?:.*\\.)?" + Pattern.quote(name));
            }
        } else if (!targets.isMissingNode() && !targets.isNull()) {
            throw new IOException(configFile + ": target_modules is " + JsonFiles.kind(targets)
                    + ", not a list of module names or a pattern");
        }
        return settings;
    }

    /**
     * The settings of an adapters-library file as the library reads them, for the adapters tuner:
     * its {@code config} object with the required fields present, no null where the library would
     * read false, legacy activation names renamed, and the adapter's {@code name}.
     */
    private static ObjectNode bottleneckSettings(JsonNode config, Path configFile) throws IOException {
        ObjectNode settings = config.get("config").deepCopy();
        for (String field : BOTTLENECK_REQUIRED) {
            if (settings.path(field).isMissingNode() || settings.path(field).isNull()) {
                throw new IOException(configFile + ": config." + field + " is missing: the adapters library requires it");
            }
        }
        for (String field : BOTTLENECK_NOT_NULL) {
            if (settings.path(field).isNull()) {
                throw new IOException(configFile + ": config." + field + " is null, which the adapters library reads as "
                        + "no value, not as its default: give a value or leave the field out");
            }
        }
        JsonNode name = config.path("name");
        if (!name.isTextual() || name.asText().isBlank()) {
            throw new IOException(configFile + ": name is " + (name.isMissingNode() ? "missing" : JsonFiles.shortly(name))
                    + ": the adapter's name, which its tensors' names hold, must be text");
        }
        JsonNode activation = settings.path("non_linearity");
        if (!config.has("version") && activation.isTextual() && LEGACY_ACTIVATIONS.containsKey(activation.asText())) {
            settings.put("non_linearity", LEGACY_ACTIVATIONS.get(activation.asText()));
        }
        GRADUS_ONLY_BOTTLENECK_SETTINGS.forEach(settings::remove);
        return settings.put("adapter_name", name.asText());
    }
}
