package io.gradus.core.llama;

import io.gradus.api.model.Linear;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.gradus.core.io.JsonFiles;
import io.gradus.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;

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

    /** Tensor names of a Hugging Face Llama checkpoint outside the decoder layers, and the layers' prefix. */
    private static final String EMBED_TOKENS = "model.embed_tokens.weight";
    private static final String FINAL_NORM = "model.norm.weight";
    private static final String LM_HEAD = "lm_head.weight";
    private static final String LAYER_PREFIX = "model.layers.";

    private final LlamaConfig config;
    private final Parameter embedTokens;
    private final List<Layer> layers;
    private final Parameter finalNorm;
    private final Parameter lmHead;
    private final SequencedMap<String, Linear> linears = new LinkedHashMap<>();

    private LlamaModel(LlamaConfig config, Map<String, float[]> values) {
        this.config = config;
        int c = config.hiddenSize();
        Map<String, int[]> layerShapes = layerShapes(config);
        this.embedTokens = param(values, EMBED_TOKENS, config.vocabSize(), c);
        List<Layer> list = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = LAYER_PREFIX + i + ".";
            for (String module : LAYER_LINEARS) {
                linears.put(p + module, new DenseLinear(param(values, p + module + ".weight",
                        layerShapes.get(module + ".weight"))));
            }
            list.add(new Layer(param(values, p + "input_layernorm.weight", c),
                    param(values, p + "post_attention_layernorm.weight", c)));
        }
        this.layers = List.copyOf(list);
        this.finalNorm = param(values, FINAL_NORM, c);
        this.lmHead = config.tieWordEmbeddings() ? embedTokens : param(values, LM_HEAD, config.vocabSize(), c);
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
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put(EMBED_TOKENS, new int[] {config.vocabSize(), config.hiddenSize()});
        for (int i = 0; i < config.numLayers(); i++) {
            String p = LAYER_PREFIX + i + ".";
            layerShapes(config).forEach((suffix, shape) -> shapes.put(p + suffix, shape));
        }
        shapes.put(FINAL_NORM, new int[] {config.hiddenSize()});
        if (!config.tieWordEmbeddings()) {
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
     * The first tensor of {@code config}'s checkpoint, in checkpoint order, that {@code present}
     * lacks, or null. Stops at the first gap: the walk is as long as {@code present}, whatever the
     * config claims.
     */
    private static String firstMissing(LlamaConfig config, Set<String> present) {
        if (!present.contains(EMBED_TOKENS)) {
            return EMBED_TOKENS;
        }
        Set<String> suffixes = layerShapes(config).keySet();
        for (int i = 0; i < config.numLayers(); i++) {
            for (String suffix : suffixes) {
                String name = LAYER_PREFIX + i + "." + suffix;
                if (!present.contains(name)) {
                    return name;
                }
            }
        }
        if (!present.contains(FINAL_NORM)) {
            return FINAL_NORM;
        }
        return !config.tieWordEmbeddings() && !present.contains(LM_HEAD) ? LM_HEAD : null;
    }

    /**
     * Loads a Hugging Face model folder: {@code config.json} and {@code model.safetensors} (or the
     * shards listed in {@code model.safetensors.index.json}), in F32, F16 or BF16.
     *
     * @throws IOException naming the file and tensor when something is missing or does not fit
     */
    public static LlamaModel load(Path dir) throws IOException {
        LlamaConfig config = LlamaConfig.read(dir.resolve("config.json"));
        List<Path> files = weightFiles(dir);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, Path> source = new HashMap<>();
        for (Path file : files) {
            try (SafeTensors st = SafeTensors.open(file)) {
                for (SafeTensors.TensorInfo info : st.tensors().values()) {
                    String name = info.name();
                    if (name.endsWith("rotary_emb.inv_freq") || (config.tieWordEmbeddings() && name.equals(LM_HEAD))) {
                        continue; // derived from the config, not weights
                    }
                    int[] shape = expectedShape(config, name);
                    if (shape == null) {
                        throw new IOException(file + ": unexpected tensor " + name + " for a Llama model with "
                                + config.numLayers() + " layers");
                    }
                    if (!Arrays.equals(shape, info.shape())) {
                        throw new IOException(file + ": tensor " + name + " has shape " + Arrays.toString(info.shape())
                                + " but config.json implies " + Arrays.toString(shape));
                    }
                    Path earlier = source.putIfAbsent(name, file);
                    if (earlier != null) {
                        throw new IOException(file + ": tensor " + name + " is in " + earlier.getFileName() + " too");
                    }
                    values.put(name, st.read(name));
                }
            }
        }
        String missing = firstMissing(config, values.keySet());
        if (missing != null) {
            throw new IOException(dir + ": no weights for tensor " + missing + " in " + files);
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
        JsonNode weightMap = JsonFiles.readObject(index).path("weight_map");
        if (!weightMap.isObject()) {
            throw new IOException(index + ": no weight_map object");
        }
        Set<String> shards = new TreeSet<>();
        for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
            JsonNode shard = entry.getValue();
            // A shard is a file of this folder: no paths that would read files elsewhere.
            if (!shard.isTextual() || !shard.asText().matches("[^/\\\\]+") || shard.asText().matches("\\.+")) {
                throw new IOException(index + ": weight_map entry " + entry.getKey() + " must name a file of the folder, found "
                        + shard);
            }
            shards.add(shard.asText());
        }
        List<Path> files = new ArrayList<>();
        for (String shard : shards) {
            try {
                files.add(dir.resolve(shard));
            } catch (InvalidPathException e) { // a character the file system refuses (NUL, say)
                throw new IOException(index + ": weight_map names " + JsonNodeFactory.instance.textNode(shard)
                        + ", which cannot be a file name: " + e.getReason(), e);
            }
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

    /** In model order: embeddings, then per layer its norms and its linear modules' parameters. */
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
        return linears.get(LAYER_PREFIX + layer + "." + name);
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
