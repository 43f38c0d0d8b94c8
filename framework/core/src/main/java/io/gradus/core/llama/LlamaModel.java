package io.gradus.core.llama;

import io.gradus.api.model.InsertedModule;
import io.gradus.api.model.InsertionPoint;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.kernel.Nf4DoubleQuant;
import io.gradus.api.model.Linear;
import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.model.ScoreHead;
import io.gradus.core.io.BitsAndBytesNf4;
import io.gradus.core.io.SafeTensors;
import io.gradus.core.io.WeightFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.SequencedMap;
import java.util.Set;

/**
 * The parameters of a Llama model under their Hugging Face names, in checkpoint order.
 *
 * <p>Linear weights are stored [out, in] as in PyTorch, so a layer computes y = x·Wᵀ. With tied
 * embeddings {@code lm_head} is the embedding table itself (one parameter, one gradient). A sequence
 * classifier (transformers' {@code LlamaForSequenceClassification}, a reward model) has a score head
 * {@code score.weight} [1, C] instead of {@code lm_head}.
 */
public final class LlamaModel implements Model {

    /** The norm weights of one decoder layer; its linear modules are in {@link #linears()}. */
    public record Layer(Parameter inputNorm, Parameter postAttentionNorm) {}

    /** The linear modules of a decoder layer, by their name under {@code model.layers.N.}. */
    public static final List<String> LAYER_LINEARS = List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    /** Tensor names of a Hugging Face Llama checkpoint outside the decoder layers, and the layers' prefix. */
    private static final String EMBED_TOKENS = "model.embed_tokens.weight";
    private static final String FINAL_NORM = "model.norm.weight";
    private static final String LM_HEAD = "lm_head.weight";
    private static final String LAYER_PREFIX = "model.layers.";

    private final LlamaConfig config;
    private final Parameter embedTokens;
    private final List<Layer> layers;
    private final Parameter finalNorm;
    /** The language-modelling head; null once the model is a sequence classifier. */
    private Parameter lmHead;
    /** The sequence classifier's head, or null for a causal language model. */
    private ScoreHead scoreHead;
    /** The head settings of config.json: a new score head's initializer range and pad id. */
    private final ClassifierConfig heads;
    private final SequencedMap<String, Linear> linears = new LinkedHashMap<>();
    /**
     * inserted[layer][point.ordinal()]: the modules inserted there, an immutable list replaced on
     * every insert, so the engine reads it at every step without copying.
     */
    private final List<InsertedModule>[][] inserted;

    /** Where a model's tensors come from: freshly initialised values, or files read one tensor at a time. */
    private interface Weights {
        /** The float tensor {@code name} of shape {@code shape}. */
        Parameter parameter(String name, int... shape) throws IOException;

        /** The linear module {@code module} with a weight [out, in]. */
        Linear linear(String module, int out, int in) throws IOException;
    }

    private LlamaModel(LlamaConfig config, ClassifierConfig heads, Weights weights) throws IOException {
        this.config = config;
        this.heads = heads;
        int c = config.hiddenSize();
        int f = config.intermediateSize();
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.numKvHeads() * config.headDim();
        this.embedTokens = weights.parameter(EMBED_TOKENS, config.vocabSize(), c);
        List<Layer> list = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = LAYER_PREFIX + i + ".";
            Parameter inputNorm = weights.parameter(p + "input_layernorm.weight", c);
            linears.put(p + "self_attn.q_proj", weights.linear(p + "self_attn.q_proj", qDim, c));
            linears.put(p + "self_attn.k_proj", weights.linear(p + "self_attn.k_proj", kvDim, c));
            linears.put(p + "self_attn.v_proj", weights.linear(p + "self_attn.v_proj", kvDim, c));
            linears.put(p + "self_attn.o_proj", weights.linear(p + "self_attn.o_proj", c, qDim));
            Parameter postNorm = weights.parameter(p + "post_attention_layernorm.weight", c);
            linears.put(p + "mlp.gate_proj", weights.linear(p + "mlp.gate_proj", f, c));
            linears.put(p + "mlp.up_proj", weights.linear(p + "mlp.up_proj", f, c));
            linears.put(p + "mlp.down_proj", weights.linear(p + "mlp.down_proj", c, f));
            list.add(new Layer(inputNorm, postNorm));
        }
        this.layers = List.copyOf(list);
        this.inserted = emptyInsertions(config.numLayers());
        this.finalNorm = weights.parameter(FINAL_NORM, c);
        if (heads.classifier()) {
            this.lmHead = null;
            this.scoreHead = new ScoreHead(weights.parameter(ScoreHead.NAME, 1, c), heads.padTokenId());
        } else {
            this.lmHead = config.tieWordEmbeddings() ? embedTokens
                    : weights.parameter(LM_HEAD, config.vocabSize(), c);
        }
    }

    @SuppressWarnings("unchecked")
    private static List<InsertedModule>[][] emptyInsertions(int layers) {
        List<InsertedModule>[][] lists = new List[layers][InsertionPoint.values().length];
        for (List<InsertedModule>[] layer : lists) {
            Arrays.fill(layer, List.of());
        }
        return lists;
    }

    /**
     * A freshly initialised model: weights drawn from N(0, 0.02²) (the Llama / GPT-2 initialiser),
     * norm weights 1.
     */
    public static LlamaModel initialize(LlamaConfig config, long seed) {
        Random random = new Random(seed);
        Map<String, float[]> values = new LinkedHashMap<>();
        for (var entry : expectedShapes(config, false).entrySet()) {
            int size = Arrays.stream(entry.getValue()).reduce(1, (a, b) -> a * b);
            float[] data = new float[size];
            if (entry.getKey().endsWith("norm.weight")) {
                Arrays.fill(data, 1f);
            } else {
                for (int i = 0; i < size; i++) {
                    data[i] = (float) (0.02 * random.nextGaussian());
                }
            }
            values.put(entry.getKey(), data);
        }
        Weights initialized = new Weights() {
            @Override
            public Parameter parameter(String name, int... shape) {
                return new Parameter(name, shape, values.get(name));
            }

            @Override
            public Linear linear(String module, int out, int in) {
                return new DenseLinear(parameter(module + ".weight", out, in));
            }
        };
        try {
            return new LlamaModel(config, ClassifierConfig.CAUSAL_LM, initialized);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen: nothing is read
        }
    }

    /**
     * Every tensor name of a checkpoint of this configuration with its shape, in checkpoint order:
     * a causal language model's, or a sequence classifier's ({@code score.weight} instead of
     * {@code lm_head.weight}).
     */
    static Map<String, int[]> expectedShapes(LlamaConfig config, boolean classifier) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put(EMBED_TOKENS, new int[] {config.vocabSize(), config.hiddenSize()});
        for (int i = 0; i < config.numLayers(); i++) {
            String p = LAYER_PREFIX + i + ".";
            layerShapes(config).forEach((suffix, shape) -> shapes.put(p + suffix, shape));
        }
        shapes.put(FINAL_NORM, new int[] {config.hiddenSize()});
        if (classifier) {
            shapes.put(ScoreHead.NAME, new int[] {1, config.hiddenSize()});
        } else if (!config.tieWordEmbeddings()) {
            shapes.put(LM_HEAD, new int[] {config.vocabSize(), config.hiddenSize()});
        }
        return shapes;
    }

    /** The tensors of one decoder layer, by their name under {@code model.layers.N.}, in checkpoint order. */
    private static Map<String, int[]> layerShapes(LlamaConfig config) {
        int c = config.hiddenSize();
        int f = config.intermediateSize();
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.numKvHeads() * config.headDim();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put("input_layernorm.weight", new int[] {c});
        shapes.put("self_attn.q_proj.weight", new int[] {qDim, c});
        shapes.put("self_attn.k_proj.weight", new int[] {kvDim, c});
        shapes.put("self_attn.v_proj.weight", new int[] {kvDim, c});
        shapes.put("self_attn.o_proj.weight", new int[] {c, qDim});
        shapes.put("post_attention_layernorm.weight", new int[] {c});
        shapes.put("mlp.gate_proj.weight", new int[] {f, c});
        shapes.put("mlp.up_proj.weight", new int[] {f, c});
        shapes.put("mlp.down_proj.weight", new int[] {c, f});
        return shapes;
    }

    /**
     * The shape of tensor {@code name} in a checkpoint of {@code config}, or null when there is no
     * such tensor. Worked out from the name alone, so that checking a file against a config.json
     * that claims 2^31 layers costs nothing (listing the expected names would not end).
     */
    static int[] expectedShape(LlamaConfig config, String name) {
        switch (name) {
            case EMBED_TOKENS:
                return new int[] {config.vocabSize(), config.hiddenSize()};
            case FINAL_NORM:
                return new int[] {config.hiddenSize()};
            case LM_HEAD:
                return config.tieWordEmbeddings() ? null : new int[] {config.vocabSize(), config.hiddenSize()};
            default:
                break;
        }
        if (!name.startsWith(LAYER_PREFIX)) {
            return null;
        }
        int dot = name.indexOf('.', LAYER_PREFIX.length());
        String index = dot < 0 ? "" : name.substring(LAYER_PREFIX.length(), dot);
        // Only the canonical spelling of a layer in range: "01" or "+1" is not layer 1.
        if (!index.matches("0|[1-9][0-9]{0,9}") || Long.parseLong(index) >= config.numLayers()) {
            return null;
        }
        return layerShapes(config).get(name.substring(dot + 1));
    }

    /**
     * Loads a Hugging Face model folder: {@code config.json} and {@code model.safetensors} (or the
     * shards listed in {@code model.safetensors.index.json}), in F32, F16 or BF16; linear weights
     * stored in bitsandbytes' NF4 layout (with transformers' {@code quantization_config}) stay NF4.
     * A {@code LlamaForSequenceClassification} folder (one label) loads with its score head.
     *
     * @throws IOException naming the file and tensor when something is missing or does not fit, or
     *     the folder is quantized by a method Gradus does not read
     */
    public static LlamaModel load(Path dir) throws IOException {
        return load(dir, LinearTransform.NONE);
    }

    /**
     * Loads a model folder as {@link #load(Path)} does, handing each linear module to {@code transform}
     * as soon as its weight is read, before the next tensor is read: a transform that quantizes
     * keeps the float model from ever existing in full.
     */
    public static LlamaModel load(Path dir, LinearTransform transform) throws IOException {
        Path configFile = dir.resolve("config.json");
        LlamaConfig config = LlamaConfig.read(configFile);
        ClassifierConfig heads = ClassifierConfig.read(configFile);
        boolean quantizedFolder = BitsAndBytesNf4.declaredIn(configFile);
        try (WeightFiles files = WeightFiles.open(dir)) {
            for (String name : files.names()) {
                if (name.endsWith("rotary_emb.inv_freq")
                        || ((config.tieWordEmbeddings() || heads.classifier()) && name.equals(LM_HEAD))) {
                    continue; // derived from the config, not weights
                }
                // Checked from the name alone: a config.json that claims 2^31 layers costs nothing here.
                boolean head = heads.classifier() && name.equals(ScoreHead.NAME);
                if (!head && expectedShape(config, name) == null && !(quantizedFolder && isCompanion(files, config, name))) {
                    throw new IOException(files.file(name).file() + ": unexpected tensor " + name
                            + " for a Llama model with " + config.numLayers() + " layers");
                }
            }
            return new LlamaModel(config, heads, new Weights() {
                @Override
                public Parameter parameter(String name, int... shape) throws IOException {
                    if (!files.contains(name)) {
                        throw new IOException(dir + ": no weights for tensor " + name + " in " + files.paths());
                    }
                    if (quantizedFolder && BitsAndBytesNf4.isQuantized(files, name)) {
                        throw new IOException(files.file(name).file() + ": tensor " + name
                                + " is quantized; Gradus keeps embeddings, norms and the output head in float");
                    }
                    int[] stored = files.info(name).shape();
                    if (!Arrays.equals(shape, stored)) {
                        throw new IOException(files.file(name).file() + ": tensor " + name + " has shape "
                                + Arrays.toString(stored) + " but config.json implies " + Arrays.toString(shape));
                    }
                    return new Parameter(name, shape, files.read(name));
                }

                @Override
                public Linear linear(String module, int out, int in) throws IOException {
                    String weight = module + ".weight";
                    Linear loaded = quantizedFolder && BitsAndBytesNf4.isQuantized(files, weight)
                            ? new QuantizedLinear(BitsAndBytesNf4.read(files, weight, new int[] {out, in}))
                            : new DenseLinear(parameter(weight, out, in));
                    Linear kept = transform.apply(module, loaded);
                    if (kept.inFeatures() != in || kept.outFeatures() != out) {
                        throw new IllegalArgumentException("the load transform turned " + module + " (" + in + " -> "
                                + out + ") into a module of " + kept.inFeatures() + " -> " + kept.outFeatures());
                    }
                    return kept;
                }
            });
        }
    }

    /** Whether {@code name} is a companion tensor (absmax, quant_state...) of a quantized weight of the model. */
    private static boolean isCompanion(WeightFiles files, LlamaConfig config, String name) throws IOException {
        int end = name.indexOf(".weight.");
        if (end < 0) {
            return false;
        }
        String weight = name.substring(0, end + ".weight".length());
        return expectedShape(config, weight) != null && BitsAndBytesNf4.isQuantized(files, weight)
                && BitsAndBytesNf4.companions(weight).contains(name);
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} into {@code dir}: the base model's
     * tensors only, under their Hugging Face names (a tuner saves its own weights); float tensors in
     * F32, quantized linear weights in bitsandbytes' NF4 layout with transformers'
     * {@code quantization_config}, so that transformers + bitsandbytes load the folder. A sequence
     * classifier is written as transformers' {@code LlamaForSequenceClassification} with one label.
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        var tensors = new LinkedHashMap<String, SafeTensors.Writable>();
        List<QuantizedWeight> quantized = new ArrayList<>();
        List<String> floatModules = new ArrayList<>();
        for (String name : expectedShapes(config, scoreHead != null).keySet()) {
            String moduleName = name.substring(0, name.lastIndexOf('.'));
            Linear module = linears.get(moduleName);
            if (module != null && !module.quantizedWeights().isEmpty()) {
                QuantizedWeight weight = module.quantizedWeights().getFirst();
                tensors.putAll(BitsAndBytesNf4.tensors(weight));
                quantized.add(weight);
                continue;
            }
            if (module != null) {
                floatModules.add(moduleName);
            }
            Parameter p = parameter(name);
            tensors.put(p.name(), new SafeTensors.Tensor(p.shape(), p.values()));
        }
        ObjectNode json = config.toJson();
        if (scoreHead != null) {
            new ClassifierConfig(true, scoreHead.padTokenId(), heads.initializerRange()).writeClassifier(json);
        }
        if (!quantized.isEmpty()) {
            boolean doubleQuant = quantized.getFirst().data() instanceof Nf4DoubleQuant;
            json.set("quantization_config", BitsAndBytesNf4.quantizationConfig(doubleQuant, floatModules));
        }
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), json);
        SafeTensors.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    }

    /** The files of a model folder that go with its weights, copied when the weights are written anew. */
    private static final List<String> COMPANION_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json");

    /**
     * Writes the model as {@link #save(Path)} does and copies, from the folder it came from, the files
     * that go with its weights (tokenizer.json, tokenizer_config.json, special_tokens_map.json,
     * generation_config.json, those that exist), so that {@code dir} is a whole model folder.
     */
    public void save(Path dir, Path source) throws IOException {
        save(dir);
        for (String file : COMPANION_FILES) {
            if (Files.isRegularFile(source.resolve(file))) {
                Files.copy(source.resolve(file), dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    public LlamaConfig config() {
        return config;
    }

    /**
     * In model order: embeddings, then per layer its norms, its linear modules' parameters and its
     * inserted modules' (point by point, in insertion order).
     */
    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>();
        all.add(embedTokens);
        for (int i = 0; i < layers.size(); i++) {
            String p = LAYER_PREFIX + i + ".";
            all.add(layers.get(i).inputNorm());
            all.add(layers.get(i).postAttentionNorm());
            for (String name : LAYER_LINEARS) {
                all.addAll(linears.get(p + name).parameters());
            }
            for (List<InsertedModule> modules : inserted[i]) {
                modules.forEach(m -> all.addAll(m.parameters()));
            }
        }
        all.add(finalNorm);
        if (lmHead != null && lmHead != embedTokens) {
            all.add(lmHead);
        }
        if (scoreHead != null) {
            all.add(scoreHead.weight());
        }
        return all;
    }

    @Override
    public SequencedMap<String, Linear> linears() {
        return Collections.unmodifiableSequencedMap(linears);
    }

    /** The linear module {@code name} under layer {@code layer}, e.g. (0, "self_attn.q_proj"). */
    public Linear linear(int layer, String name) {
        return linears.get("model.layers." + layer + "." + name);
    }

    @Override
    public void replaceLinear(String name, Linear replacement) {
        Linear current = linears.get(name);
        if (current == null) {
            throw new NoSuchElementException("the model has no linear module named " + name + "; it has "
                    + linears.keySet().stream().limit(7).toList() + "...");
        }
        if (current.inFeatures() != replacement.inFeatures() || current.outFeatures() != replacement.outFeatures()) {
            throw new IllegalArgumentException("replacement for " + name + " maps " + replacement.inFeatures() + " -> "
                    + replacement.outFeatures() + ", the module maps " + current.inFeatures() + " -> " + current.outFeatures());
        }
        linears.put(name, replacement);
    }

    @Override
    public int layerCount() {
        return config.numLayers();
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSize();
    }

    @Override
    public List<InsertedModule> insertedModules(int layer, InsertionPoint point) {
        return inserted[checkLayer(layer)][point.ordinal()];
    }

    @Override
    public void insert(int layer, InsertionPoint point, InsertedModule module) {
        if (module.features() != config.hiddenSize()) {
            throw new IllegalArgumentException("a module of width " + module.features() + " cannot be inserted at "
                    + point.id() + " of layer " + layer + ": the model's hidden size is " + config.hiddenSize());
        }
        List<InsertedModule> modules = new ArrayList<>(inserted[checkLayer(layer)][point.ordinal()]);
        modules.add(module);
        inserted[layer][point.ordinal()] = List.copyOf(modules);
    }

    private int checkLayer(int layer) {
        if (layer < 0 || layer >= config.numLayers()) {
            throw new IndexOutOfBoundsException("the model has layers 0 to " + (config.numLayers() - 1)
                    + "; there is no layer " + layer);
        }
        return layer;
    }

    public Parameter embedTokens() {
        return embedTokens;
    }

    public List<Layer> layers() {
        return layers;
    }

    public Parameter finalNorm() {
        return finalNorm;
    }

    /**
     * The output projection; the embedding table itself when embeddings are tied.
     *
     * @throws IllegalStateException when the model is a sequence classifier, which has none
     */
    public Parameter lmHead() {
        if (lmHead == null) {
            throw new IllegalStateException("the model is a sequence classifier (a reward model): it scores sequences "
                    + "and has no language-modelling head to compute next-token logits with");
        }
        return lmHead;
    }

    @Override
    public java.util.Optional<ScoreHead> scoreHead() {
        return java.util.Optional.ofNullable(scoreHead);
    }

    /**
     * Turns this causal language model into a sequence classifier with one label (the start of a
     * reward model), as transformers' {@code AutoModelForSequenceClassification.from_pretrained(...,
     * num_labels=1)} does with a causal checkpoint: the language-modelling head goes, a score head
     * {@code score.weight} [1, C] comes, drawn from normal(0, {@code initializer_range}) (transformers'
     * {@code _init_weights} for a linear layer) with {@code seed}. The pad id is config.json's
     * {@code pad_token_id}, or none without one: each sequence is then scored at its last token, as
     * transformers scores it (not TRL's EOS fallback, which a LoRA adapter could not carry to where it
     * is scored; see docs/DESIGN.md). Call it before a tuner is applied.
     *
     * @throws IllegalStateException if the model already is a sequence classifier
     */
    public void toSequenceClassifier(long seed) {
        if (scoreHead != null) {
            throw new IllegalStateException("the model already is a sequence classifier");
        }
        Random random = new Random(seed);
        float[] values = new float[config.hiddenSize()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (heads.initializerRange() * random.nextGaussian());
        }
        setScoreHead(values);
    }

    /**
     * Turns this causal language model into a sequence classifier whose score head has the given
     * values [C] (an adapter in PEFT's layout brings the head's weights with it).
     */
    public void setScoreHead(float[] values) {
        if (values.length != config.hiddenSize()) {
            throw new IllegalArgumentException(ScoreHead.NAME + " needs " + config.hiddenSize() + " values, got "
                    + values.length);
        }
        if (scoreHead != null) {
            System.arraycopy(values, 0, scoreHead.weight().values(), 0, values.length);
            return;
        }
        lmHead = null;
        // The pad id config.json gives, or none: transformers then reads the last token, as lastTokens(-1) does.
        scoreHead = new ScoreHead(new Parameter(ScoreHead.NAME, new int[] {1, config.hiddenSize()}, values),
                heads.padTokenId());
    }
}
