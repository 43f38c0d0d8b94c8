package io.gradus.core.llama;

import io.gradus.api.model.InsertedModule;
import io.gradus.api.model.InsertionPoint;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
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
 * embeddings {@code lm_head} is the embedding table itself (one parameter, one gradient).
 */
public final class LlamaModel implements Model {

    /** The norm weights of one decoder layer; its linear modules are in {@link #linears()}. */
    public record Layer(Parameter inputNorm, Parameter postAttentionNorm) {}

    /** The linear modules of a decoder layer, by their name under {@code model.layers.N.}. */
    public static final List<String> LAYER_LINEARS = List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    private final LlamaConfig config;
    private final Parameter embedTokens;
    private final List<Layer> layers;
    private final Parameter finalNorm;
    private final Parameter lmHead;
    private final SequencedMap<String, Linear> linears = new LinkedHashMap<>();
    /**
     * inserted[layer][point.ordinal()]: the modules inserted there, an immutable list replaced on
     * every insert, so the engine reads it at every step without copying.
     */
    private final List<InsertedModule>[][] inserted;

    private LlamaModel(LlamaConfig config, Map<String, float[]> values) {
        this.config = config;
        int c = config.hiddenSize();
        int f = config.intermediateSize();
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.numKvHeads() * config.headDim();
        this.embedTokens = param(values, "model.embed_tokens.weight", config.vocabSize(), c);
        List<Layer> list = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            Parameter inputNorm = param(values, p + "input_layernorm.weight", c);
            linear(values, p + "self_attn.q_proj", qDim, c);
            linear(values, p + "self_attn.k_proj", kvDim, c);
            linear(values, p + "self_attn.v_proj", kvDim, c);
            linear(values, p + "self_attn.o_proj", c, qDim);
            Parameter postNorm = param(values, p + "post_attention_layernorm.weight", c);
            linear(values, p + "mlp.gate_proj", f, c);
            linear(values, p + "mlp.up_proj", f, c);
            linear(values, p + "mlp.down_proj", c, f);
            list.add(new Layer(inputNorm, postNorm));
        }
        this.layers = List.copyOf(list);
        this.inserted = emptyInsertions(config.numLayers());
        this.finalNorm = param(values, "model.norm.weight", c);
        this.lmHead = config.tieWordEmbeddings() ? embedTokens : param(values, "lm_head.weight", config.vocabSize(), c);
    }

    @SuppressWarnings("unchecked")
    private static List<InsertedModule>[][] emptyInsertions(int layers) {
        List<InsertedModule>[][] lists = new List[layers][InsertionPoint.values().length];
        for (List<InsertedModule>[] layer : lists) {
            Arrays.fill(layer, List.of());
        }
        return lists;
    }

    private void linear(Map<String, float[]> values, String module, int out, int in) {
        linears.put(module, new DenseLinear(param(values, module + ".weight", out, in)));
    }

    private static Parameter param(Map<String, float[]> values, String name, int... shape) {
        float[] data = values.get(name);
        int size = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        if (data == null) {
            throw new IllegalArgumentException("missing tensor " + name + " of shape " + Arrays.toString(shape));
        }
        if (data.length != size) {
            throw new IllegalArgumentException("tensor " + name + " has " + data.length + " values; the config needs shape "
                    + Arrays.toString(shape) + " = " + size);
        }
        return new Parameter(name, shape, data);
    }

    /**
     * A freshly initialised model: weights drawn from N(0, 0.02²) (the Llama / GPT-2 initialiser),
     * norm weights 1.
     */
    public static LlamaModel initialize(LlamaConfig config, long seed) {
        Random random = new Random(seed);
        Map<String, float[]> values = new LinkedHashMap<>();
        for (var entry : expectedShapes(config).entrySet()) {
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
        return new LlamaModel(config, values);
    }

    /** Every tensor name of a checkpoint of this configuration with its shape, in checkpoint order. */
    static Map<String, int[]> expectedShapes(LlamaConfig config) {
        int c = config.hiddenSize();
        int f = config.intermediateSize();
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.numKvHeads() * config.headDim();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new int[] {config.vocabSize(), c});
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new int[] {c});
            shapes.put(p + "self_attn.q_proj.weight", new int[] {qDim, c});
            shapes.put(p + "self_attn.k_proj.weight", new int[] {kvDim, c});
            shapes.put(p + "self_attn.v_proj.weight", new int[] {kvDim, c});
            shapes.put(p + "self_attn.o_proj.weight", new int[] {c, qDim});
            shapes.put(p + "post_attention_layernorm.weight", new int[] {c});
            shapes.put(p + "mlp.gate_proj.weight", new int[] {f, c});
            shapes.put(p + "mlp.up_proj.weight", new int[] {f, c});
            shapes.put(p + "mlp.down_proj.weight", new int[] {c, f});
        }
        shapes.put("model.norm.weight", new int[] {c});
        if (!config.tieWordEmbeddings()) {
            shapes.put("lm_head.weight", new int[] {config.vocabSize(), c});
        }
        return shapes;
    }

    /**
     * Loads a Hugging Face model folder: {@code config.json} and {@code model.safetensors} (or the
     * shards listed in {@code model.safetensors.index.json}), in F32, F16 or BF16.
     *
     * @throws IOException naming the file and tensor when something is missing or does not fit
     */
    public static LlamaModel load(Path dir) throws IOException {
        LlamaConfig config = LlamaConfig.read(dir.resolve("config.json"));
        Map<String, int[]> expected = expectedShapes(config);
        Map<String, float[]> values = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        for (Path file : weightFiles(dir)) {
            try (SafeTensors st = SafeTensors.open(file)) {
                for (SafeTensors.TensorInfo info : st.tensors().values()) {
                    String name = info.name();
                    if (name.endsWith("rotary_emb.inv_freq")
                            || (config.tieWordEmbeddings() && name.equals("lm_head.weight"))) {
                        continue; // derived from the config, not weights
                    }
                    int[] shape = expected.get(name);
                    if (shape == null) {
                        throw new IOException(file + ": unexpected tensor " + name + " for a Llama model with "
                                + config.numLayers() + " layers");
                    }
                    if (!Arrays.equals(shape, info.shape())) {
                        throw new IOException(file + ": tensor " + name + " has shape " + Arrays.toString(info.shape())
                                + " but config.json implies " + Arrays.toString(shape));
                    }
                    values.put(name, st.read(name));
                    seen.add(name);
                }
            }
        }
        for (String name : expected.keySet()) {
            if (!seen.contains(name)) {
                throw new IOException(dir + ": no weights for tensor " + name + " in " + weightFiles(dir));
            }
        }
        return new LlamaModel(config, values);
    }

    private static List<Path> weightFiles(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        Path index = dir.resolve("model.safetensors.index.json");
        if (!Files.isRegularFile(index)) {
            throw new NoSuchFileException(dir.toString(), null, "no model.safetensors or model.safetensors.index.json");
        }
        var weightMap = new com.fasterxml.jackson.databind.ObjectMapper().readTree(index.toFile()).path("weight_map");
        if (!weightMap.isObject()) {
            throw new IOException(index + ": no weight_map object");
        }
        Set<String> shards = new java.util.TreeSet<>();
        weightMap.properties().forEach(e -> shards.add(e.getValue().asText()));
        List<Path> files = new ArrayList<>();
        for (String shard : shards) {
            files.add(dir.resolve(shard));
        }
        return files;
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} (F32) into {@code dir}: the base
     * model's tensors only, under their Hugging Face names (a tuner saves its own weights).
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.write(dir.resolve("config.json"));
        var tensors = new LinkedHashMap<String, SafeTensors.Tensor>();
        for (String name : expectedShapes(config).keySet()) {
            Parameter p = parameter(name);
            tensors.put(p.name(), new SafeTensors.Tensor(p.shape(), p.values()));
        }
        SafeTensors.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
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
            String p = "model.layers." + i + ".";
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
        if (lmHead != embedTokens) {
            all.add(lmHead);
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

    /** The output projection; the embedding table itself when embeddings are tied. */
    public Parameter lmHead() {
        return lmHead;
    }
}
