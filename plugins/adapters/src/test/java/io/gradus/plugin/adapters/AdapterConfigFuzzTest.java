package io.gradus.plugin.adapters;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueException;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.ScratchFolder;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.Adapters;
import io.gradus.jobs.ModelFolders;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.plugin.lora.internal.LoraTechnique;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.SequencedMap;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Fuzzes the adapter loader with damaged {@code adapter_config.json} files in the two layouts it reads:
 * PEFT's LoRA (through {@link ModelFolders#load}, which also follows {@code base_model_name_or_path}
 * to the base model, as {@code gradus score} and the jobs' frozen models do) and the AdapterHub
 * {@code adapters} library's (through {@link Adapters#apply}, as {@code gradus forward --adapter}
 * does). Every input is refused with an error that names the adapter folder and reads as a sentence
 * ({@link CleanLoad}), or loads what the file says as the library that wrote it reads it: this test
 * reads the file itself by that library's rules (PEFT's {@code LoraConfig}: its defaults, its meaning
 * of {@code target_modules}; the library's {@code BnConfig}: its required fields, its defaults, its
 * legacy activation names), and the loaded model must give the logits of the seed's tensors under
 * that reading. What the libraries would compute differently from Gradus (DoRA, per-module ranks,
 * {@code "false"} read as true by Python, ...) has no reading here, so it must be refused.
 */
class AdapterConfigFuzzTest {

    /** A LoRA adapter's configuration as PEFT (0.14) writes it: every field, most of them unused. */
    private static final String PEFT_LORA = """
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "../base", "bias": "none",
             "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false, "inference_mode": true,
             "init_lora_weights": true, "layer_replication": null, "layers_pattern": null, "layers_to_transform": null,
             "loftq_config": {}, "lora_alpha": 8, "lora_bias": false, "lora_dropout": 0.05, "megatron_config": null,
             "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA", "r": 4, "rank_pattern": {},
             "revision": null, "target_modules": ["down_proj", "q_proj", "v_proj"], "task_type": "CAUSAL_LM",
             "use_dora": false, "use_rslora": false}""";

    private static final String ADAPTER_NAME = "bn";
    private static final List<String> SEED_TARGETS = List.of("q_proj", "v_proj", "down_proj");
    private static final SafetensorsFiles FILES = new SafetensorsFiles();
    private static final TechniqueCatalog CATALOG = TinyLlama.catalog(Map.of("adapters", new AdaptersTechnique(),
            "lora", new LoraTechnique()));
    /** Python's json module: one document, nothing after it. */
    private static final ObjectMapper STRICT_JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private static final ScratchFolder SCRATCH = new ScratchFolder("adapter-config");

    /** The base model, a LoRA adapter in PEFT's layout and a Houlsby adapter in the library's, made once. */
    private record World(Path base, Path peft, Path bottleneck, SequencedMap<String, Parameter> loraTensors,
            SequencedMap<String, Parameter> bottleneckTensors, JsonNode bottleneckSeed, List<String> modules) {}

    private static World world;

    private static synchronized World world() throws IOException {
        if (world == null) {
            Path base = SCRATCH.dir().resolve("base");
            TinyLlama.model().save(base);
            LlamaModel model = LlamaModel.load(base);
            List<String> modules = List.copyOf(model.linears().keySet());
            var lora = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, 0.05, SEED_TARGETS, false, null));
            randomize(lora.trainableParameters(), 21);
            Path peft = SCRATCH.dir().resolve("peft-adapter");
            lora.save(peft, FILES, "../base");

            LlamaModel other = LlamaModel.load(base);
            var bottleneck = new AdaptersTechnique().apply(other, AdaptersTechniqueTest.config("double_seq_bn",
                    Map.of("adapterName", ADAPTER_NAME, "reductionFactor", 4)));
            randomize(bottleneck.trainableParameters(), 22);
            Path library = SCRATCH.dir().resolve("bottleneck-adapter");
            bottleneck.save(library, FILES, "../base");
            // The library's own file (every BnConfig field), made to fit this model and adapter.
            ObjectNode seed;
            try {
                seed = (ObjectNode) new ObjectMapper().readTree(
                        Path.of(AdapterConfigFuzzTest.class.getResource("/adapterhub/houlsby/adapter_config.json").toURI())
                                .toFile());
            } catch (java.net.URISyntaxException e) {
                throw new IOException(e);
            }
            seed.put("name", ADAPTER_NAME).put("hidden_size", TinyLlama.CONFIG.hiddenSize()).put("model_name", "../base");
            world = new World(base, peft, library, FILES.read(peft.resolve("adapter_model.safetensors")),
                    FILES.read(library.resolve("adapter.safetensors")), seed, modules);
        }
        return world;
    }

    private static void randomize(List<Parameter> parameters, long seed) {
        Random random = new Random(seed);
        for (Parameter p : parameters) {
            for (int i = 0; i < p.size(); i++) {
                p.values()[i] = (float) (0.3 * random.nextGaussian());
            }
        }
    }

    @Provide
    Arbitrary<Mutant> peftConfigs() {
        return Mutations.damaged(Mutations.json(Mutations.parse(PEFT_LORA)));
    }

    @Provide
    Arbitrary<Mutant> libraryConfigs() throws IOException {
        return Mutations.damaged(Mutations.json(world().bottleneckSeed()));
    }

    @Property(tries = 1500, seed = Mutations.SEED)
    @Label("a damaged PEFT LoRA adapter_config.json loads as PEFT reads it, or is refused cleanly")
    void peftLora(@ForAll("peftConfigs") Mutant input) throws IOException {
        World w = world();
        Path file = SCRATCH.write("peft-adapter/adapter_config.json", input.bytes());
        Optional<LlamaModel> loaded = CleanLoad.attempt(() -> ModelFolders.load(w.peft(), CATALOG), w.peft());
        Statistics.collect(loaded.isPresent() ? "loaded" : "refused");
        loaded.ifPresent(model -> assertLoadsAsRead(input, model, AdapterConfigFuzzTest::peftExpected, file));
    }

    @Property(tries = 1500, seed = Mutations.SEED)
    @Label("a damaged adapters-library adapter_config.json loads as the library reads it, or is refused cleanly")
    void library(@ForAll("libraryConfigs") Mutant input) throws IOException {
        World w = world();
        Path file = SCRATCH.write("bottleneck-adapter/adapter_config.json", input.bytes());
        Optional<LlamaModel> loaded = CleanLoad.attempt(() -> {
            LlamaModel model = LlamaModel.load(w.base());
            Adapters.apply(model, w.bottleneck(), CATALOG);
            return model;
        }, w.bottleneck());
        Statistics.collect(loaded.isPresent() ? "loaded" : "refused");
        loaded.ifPresent(model -> assertLoadsAsRead(input, model, AdapterConfigFuzzTest::libraryExpected, file));
    }

    /** What a loader accepted must have a reading, and compute what the seed's tensors compute under it. */
    private interface Reading {
        Optional<LlamaModel> expected(JsonNode json) throws IOException;
    }

    /** The base with the seed's LoRA tensors as PEFT reads {@code json}, if it does. */
    private static Optional<LlamaModel> peftExpected(JsonNode json) throws IOException {
        Optional<LoraConfig> config = peftReading(json, world().modules());
        if (config.isEmpty()) {
            return Optional.empty();
        }
        LlamaModel expected = LlamaModel.load(world().base());
        new LoraTechnique().load(expected, config.get(), world().loraTensors());
        return Optional.of(expected);
    }

    /** The base with the seed's bottleneck tensors as the adapters library reads {@code json}, if it does. */
    private static Optional<LlamaModel> libraryExpected(JsonNode json) throws IOException {
        Optional<AdaptersConfig> config = libraryReading(json);
        if (config.isEmpty()) {
            return Optional.empty();
        }
        LlamaModel expected = LlamaModel.load(world().base());
        new AdaptersTechnique().load(expected, config.get(), world().bottleneckTensors());
        return Optional.of(expected);
    }

    private static void assertLoadsAsRead(Mutant input, LlamaModel loaded, Reading reading, Path file) {
        JsonNode json;
        try {
            json = STRICT_JSON.readTree(input.bytes());
        } catch (IOException e) {
            throw new AssertionError("accepted " + file + ", which Python's json module does not read: " + e.getMessage());
        }
        Optional<LlamaModel> expected;
        try {
            expected = reading.expected(json);
        } catch (IOException | TechniqueException e) {
            throw new AssertionError("accepted " + file + ", whose reading does not load: " + e.getMessage(), e);
        }
        assertThat(expected).as("accepted " + file + ", which the library would not load as Gradus did").isPresent();
        float[] got = TinyLlama.logits(loaded);
        float[] want = TinyLlama.logits(expected.orElseThrow());
        assertThat(Arrays.equals(got, want)).as("the logits of the adapter as loaded equal those of its reading").isTrue();
    }

    /**
     * The LoRA configuration PEFT's LoraConfig reads from {@code json}, its targets given as the full
     * names of the modules it adapts in {@code modules}; empty when PEFT reads something Gradus does
     * not compute, or nothing. A field that is absent or null takes PEFT's default.
     */
    static Optional<LoraConfig> peftReading(JsonNode json, List<String> modules) {
        if (!json.isObject() || !json.path("peft_type").isTextual() || !json.get("peft_type").asText().equalsIgnoreCase("lora")) {
            return Optional.empty();
        }
        JsonNode task = json.path("task_type");
        if (!absent(task) && !(task.isTextual() && task.asText().equals("CAUSAL_LM"))) {
            return Optional.empty(); // SEQ_CLS needs a score head the seed has no tensor for; others are not Llama LMs
        }
        for (String unsupported : List.of("use_dora", "lora_bias", "rank_pattern", "alpha_pattern", "layers_to_transform",
                "exclude_modules", "layer_replication")) {
            JsonNode value = json.path(unsupported);
            if (!absent(value) && !(value.isBoolean() && !value.asBoolean()) && !(value.isContainerNode() && value.isEmpty())) {
                return Optional.empty();
            }
        }
        JsonNode r = json.path("r");
        JsonNode alpha = json.path("lora_alpha");
        JsonNode dropout = json.path("lora_dropout");
        JsonNode rslora = json.path("use_rslora");
        if (!(absent(r) || r.isIntegralNumber() && r.canConvertToInt()) || !(absent(alpha) || alpha.isNumber())
                || !(absent(dropout) || dropout.isNumber()) || !(absent(rslora) || rslora.isBoolean())) {
            return Optional.empty();
        }
        List<String> targets = new ArrayList<>();
        JsonNode named = json.path("target_modules");
        for (String module : modules) {
            Optional<Boolean> adapted = peftTargets(named, module);
            if (adapted.isEmpty()) {
                return Optional.empty();
            }
            if (adapted.get()) {
                targets.add(Pattern.quote(module));
            }
        }
        if (targets.isEmpty()) {
            return Optional.empty(); // PEFT: "Target modules ... not found in the base model"
        }
        try {
            return Optional.of(new LoraConfig(absent(r) ? 8 : r.asInt(), absent(alpha) ? 8.0 : alpha.asDouble(),
                    absent(dropout) ? 0.0 : dropout.asDouble(), targets, !absent(rslora) && rslora.asBoolean(), null));
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // a value Gradus refuses by design (a rank of 0, an alpha of 0)
        }
    }

    /** Whether PEFT adapts {@code module} by {@code targetModules} (BaseTuner.check_target_module_exists). */
    private static Optional<Boolean> peftTargets(JsonNode targetModules, String module) {
        if (absent(targetModules)) {
            return Optional.of(module.endsWith(".q_proj") || module.endsWith(".v_proj")); // the llama mapping
        }
        if (targetModules.isTextual()) {
            String target = targetModules.asText();
            if (target.equalsIgnoreCase("all-linear")) {
                return Optional.of(!module.equals("lm_head"));
            }
            try {
                return Optional.of(module.matches(target)); // re.fullmatch
            } catch (PatternSyntaxException e) {
                return Optional.empty();
            }
        }
        if (!targetModules.isArray() || targetModules.isEmpty()) {
            return Optional.empty();
        }
        boolean adapted = false;
        for (JsonNode target : targetModules) {
            if (!target.isTextual()) {
                return Optional.empty();
            }
            adapted |= module.equals(target.asText()) || module.endsWith("." + target.asText());
        }
        return Optional.of(adapted);
    }

    /**
     * The bottleneck configuration the adapters library's BnConfig reads from {@code json}; empty when
     * the library refuses it or reads something Gradus does not compute.
     */
    static Optional<AdaptersConfig> libraryReading(JsonNode json) {
        JsonNode config = json.path("config");
        JsonNode name = json.path("name");
        if (!config.isObject() || !name.isTextual() || name.asText().isBlank()) {
            return Optional.empty();
        }
        for (String required : List.of("mh_adapter", "output_adapter", "reduction_factor", "non_linearity")) {
            if (absent(config.path(required))) {
                return Optional.empty();
            }
        }
        for (String defaulted : List.of("original_ln_before", "original_ln_after", "residual_before_ln", "scaling", "dropout",
                "leave_out", "ln_before", "ln_after", "is_parallel", "use_gating", "phm_layer", "init_weights",
                "stochastic_depth")) {
            if (config.path(defaulted).isNull()) {
                return Optional.empty(); // None, where the library's code wants a value
            }
        }
        if (!absent(config.path("architecture")) || !absent(config.path("inv_adapter"))) {
            return Optional.empty();
        }
        Object reduction = reductionFactor(config.get("reduction_factor"));
        String activation = config.get("non_linearity").isTextual() ? config.get("non_linearity").asText() : null;
        if (reduction == null || activation == null) {
            return Optional.empty();
        }
        if (!json.has("version")) {
            activation = Map.of("gelu", "gelu_new", "gelu_orig", "gelu").getOrDefault(activation, activation);
        }
        List<Integer> leaveOut = new ArrayList<>();
        for (JsonNode layer : config.path("leave_out")) {
            if (!layer.isIntegralNumber() || !layer.canConvertToInt()) {
                return Optional.empty();
            }
            leaveOut.add(layer.asInt());
        }
        if (config.has("leave_out") && !config.get("leave_out").isArray()) {
            return Optional.empty();
        }
        JsonNode seed = config.path("init_weights_seed");
        if (!absent(seed) && !(seed.isIntegralNumber() && seed.canConvertToInt())
                || !absent(config.path("init_weights")) && !config.get("init_weights").isTextual()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new AdaptersConfig(null, name.asText(), bool(config, "mh_adapter"), bool(config, "output_adapter"),
                    reduction, null, activation, bool(config, "original_ln_before"), bool(config, "original_ln_after"),
                    bool(config, "residual_before_ln"), number(config, "scaling"), number(config, "dropout"),
                    absent(config.path("init_weights")) ? null : config.get("init_weights").asText(),
                    absent(seed) ? null : seed.asInt(), leaveOut, null, bool(config, "ln_before"), bool(config, "ln_after"),
                    bool(config, "is_parallel"), bool(config, "use_gating"), bool(config, "phm_layer"), null,
                    number(config, "stochastic_depth")));
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // a value of the wrong type, or one Gradus refuses by design
        }
    }

    /** A reduction factor: a number, or per layer an object of numbers. */
    private static Object reductionFactor(JsonNode node) {
        if (node.isNumber()) {
            return node.asDouble();
        }
        if (!node.isObject()) {
            return null;
        }
        Map<String, Object> factors = new LinkedHashMap<>();
        for (var entry : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
            if (!entry.getValue().isNumber()) {
                return null;
            }
            factors.put(entry.getKey(), entry.getValue().asDouble());
        }
        return factors;
    }

    /** A boolean field: absent is null (the default); anything but true or false is not read. */
    private static Boolean bool(JsonNode config, String field) {
        JsonNode node = config.path(field);
        if (absent(node)) {
            return null;
        }
        if (!node.isBoolean()) {
            throw new IllegalArgumentException(field + " is not a boolean");
        }
        return node.asBoolean();
    }

    private static Double number(JsonNode config, String field) {
        JsonNode node = config.path(field);
        if (absent(node)) {
            return null;
        }
        if (!node.isNumber()) {
            throw new IllegalArgumentException(field + " is not a number");
        }
        return node.asDouble();
    }

    private static boolean absent(JsonNode node) {
        return node.isMissingNode() || node.isNull();
    }

    // Regressions: one input per kind of failure the fuzzers found, each failing before its fix.

    /** Writes {@code json} over the seed PEFT adapter's configuration and loads the folder. */
    private static String peftRefusal(String json) throws IOException {
        World w = world();
        Files.writeString(w.peft().resolve("adapter_config.json"), json);
        try {
            ModelFolders.load(w.peft(), CATALOG);
        } catch (IOException e) {
            CleanLoad.assertReadable(e.getMessage());
            return e.getMessage();
        }
        throw new AssertionError("loaded " + json);
    }

    private static String withPeft(String field, String value) {
        ObjectNode seed = (ObjectNode) Mutations.parse(PEFT_LORA);
        if (value == null) {
            seed.remove(field);
        } else {
            seed.set(field, Mutations.parse(value));
        }
        return seed.toString();
    }

    @Example
    @Label("the seeds load: PEFT's file as written, the library's as written")
    void seedsLoad() throws IOException {
        World w = world();
        Files.writeString(w.peft().resolve("adapter_config.json"), PEFT_LORA);
        assertLoadsAsRead(Mutant.seed(PEFT_LORA.getBytes(UTF_8)), ModelFolders.load(w.peft(), CATALOG),
                AdapterConfigFuzzTest::peftExpected, w.peft());
        Files.writeString(w.bottleneck().resolve("adapter_config.json"), w.bottleneckSeed().toString());
        LlamaModel model = LlamaModel.load(w.base());
        Adapters.apply(model, w.bottleneck(), CATALOG);
        assertThat(TinyLlama.logits(model)).isNotEqualTo(TinyLlama.logits(LlamaModel.load(w.base())));
    }

    @Example
    @Label("PEFT's reading: lora_alpha left out is 8; a string target_modules is a pattern of whole names")
    void peftDefaultsAndPatterns() throws IOException {
        World w = world();
        Function<String, float[]> logits = json -> {
            try {
                Files.writeString(w.peft().resolve("adapter_config.json"), json);
                return TinyLlama.logits(ModelFolders.load(w.peft(), CATALOG));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        assertThat(logits.apply(withPeft("lora_alpha", null))).as("no lora_alpha: PEFT's 8")
                .containsExactly(logits.apply(PEFT_LORA));
        assertThat(logits.apply(withPeft("target_modules", "\".*\\\\.(q_proj|v_proj|down_proj)\"")))
                .containsExactly(logits.apply(PEFT_LORA));
        assertThat(peftRefusal(withPeft("target_modules", "\"q_proj\""))).as("re.fullmatch('q_proj', ...) adapts nothing")
                .contains("match no linear module");
        assertThat(peftRefusal(withPeft("target_modules", "[]"))).contains("target_modules is an empty list");
    }

    @Example
    @Label("PEFT files that would compute something else are refused, naming the file and the field")
    void peftRefusals() throws IOException {
        Path file = world().peft().resolve("adapter_config.json");
        assertThat(peftRefusal(withPeft("use_rslora", "\"false\""))).startsWith(file + ": ").contains("use_rslora");
        assertThat(peftRefusal(withPeft("r", "4.0"))).startsWith(file + ": ").contains("'r'");
        assertThat(peftRefusal(withPeft("use_dora", "true"))).isEqualTo(file + ": use_dora is true: DoRA (a magnitude vector "
                + "besides the low-rank update) is not supported; Gradus loads LoRA adapters with one rank and one alpha on "
                + "every targeted module of every layer");
        assertThat(peftRefusal(withPeft("alpha_pattern", "{\"q_proj\": 16}"))).contains("alpha_pattern", "an alpha per module");
        assertThat(peftRefusal(withPeft("layers_to_transform", "[0]"))).contains("layers_to_transform");
        assertThat(peftRefusal(withPeft("task_type", "\"TOKEN_CLS\""))).contains("task_type \"TOKEN_CLS\" is not one Gradus loads");
        assertThat(peftRefusal(withPeft("target_modules", "[\"q_proj\", null]"))).contains("target_modules holds null");
        assertThat(peftRefusal(PEFT_LORA + " trailing")).startsWith(file + ": not valid JSON");
        assertThat(peftRefusal(withPeft("r", "2147483647"))).as("a huge rank allocates nothing").contains("has shape [4, 20]");
    }

    @Example
    @Label("base_model_name_or_path that names no model folder, or is no path, is refused naming adapter_config.json")
    void baseModelPath() throws IOException {
        Path file = world().peft().resolve("adapter_config.json");
        assertThat(peftRefusal(withPeft("base_model_name_or_path", "\"a\\u0000b\""))).startsWith(file
                + ": base_model_name_or_path 'a\u0000b' is not a path: ");
        assertThat(peftRefusal(withPeft("base_model_name_or_path", "1e308"))).isEqualTo(file
                + ": base_model_name_or_path is a number: the adapter does not say which model folder it adapts");
        assertThat(peftRefusal(withPeft("base_model_name_or_path", "\"meta-llama/Llama-3.2-1B\""))).startsWith(file
                + ": base_model_name_or_path 'meta-llama/Llama-3.2-1B' names no model folder here");
    }

    @Example
    @Label("the library's reading: required fields, no null for a default, the legacy gelu of files without a version")
    void libraryRules() throws IOException {
        World w = world();
        Path file = w.bottleneck().resolve("adapter_config.json");
        Function<JsonNode, String> refusal = json -> {
            try {
                Files.writeString(file, json.toString());
                Adapters.apply(LlamaModel.load(w.base()), w.bottleneck(), CATALOG);
                throw new AssertionError("loaded " + json);
            } catch (IOException e) {
                CleanLoad.assertReadable(e.getMessage());
                return e.getMessage();
            }
        };
        ObjectNode missing = w.bottleneckSeed().deepCopy();
        ((ObjectNode) missing.get("config")).remove("mh_adapter");
        assertThat(refusal.apply(missing)).isEqualTo(file + ": config.mh_adapter is missing: the adapters library requires it");
        ObjectNode nullAfter = w.bottleneckSeed().deepCopy();
        ((ObjectNode) nullAfter.get("config")).putNull("original_ln_after");
        assertThat(refusal.apply(nullAfter)).startsWith(file + ": config.original_ln_after is null");
        ObjectNode text = w.bottleneckSeed().deepCopy();
        ((ObjectNode) text.get("config")).put("mh_adapter", "false");
        assertThat(refusal.apply(text)).startsWith(file + ": ").contains("mh_adapter");

        // Without a version the library reads gelu as gelu_new (tanh): the adapter computes that.
        ObjectNode legacy = w.bottleneckSeed().deepCopy();
        legacy.remove("version");
        ((ObjectNode) legacy.get("config")).put("non_linearity", "gelu");
        Files.writeString(file, legacy.toString());
        LlamaModel model = LlamaModel.load(w.base());
        var loaded = (AdaptersTechnique.AdaptersTuning) Adapters.apply(model, w.bottleneck(), CATALOG);
        assertThat(loaded.config().nonLinearity()).isEqualTo("gelu_new");
        assertThat(libraryReading(legacy)).hasValueSatisfying(c -> assertThat(c.nonLinearity()).isEqualTo("gelu_new"));
    }

    @Example
    @Label("a refused LoRA adapter leaves the model as it was")
    void refusalLeavesTheModel() throws IOException {
        World w = world();
        Files.writeString(w.peft().resolve("adapter_config.json"), withPeft("r", "5"));
        LlamaModel model = LlamaModel.load(w.base());
        float[] before = TinyLlama.logits(model);
        assertThatThrownBy(() -> Adapters.apply(model, w.peft(), CATALOG)).hasMessageContaining("has shape [4, 20]");
        assertThat(model.linears().values()).noneMatch(l -> l instanceof io.gradus.plugin.lora.internal.LoraLayer);
        assertThat(TinyLlama.logits(model)).containsExactly(before);
    }
}
