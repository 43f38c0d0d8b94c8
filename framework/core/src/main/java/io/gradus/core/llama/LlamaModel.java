package io.gradus.core.llama;

import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The parameters of a Llama model under their Hugging Face names, in checkpoint order.
 *
 * <p>Linear weights are stored [out, in] as in PyTorch, so a layer computes y = x·Wᵀ. With tied
 * embeddings {@code lm_head} is the embedding table itself (one parameter, one gradient).
 */
public final class LlamaModel implements Model {

    /** The weights of one decoder layer. */
    public record Layer(
            Parameter inputNorm,
            Parameter q,
            Parameter k,
            Parameter v,
            Parameter o,
            Parameter postAttentionNorm,
            Parameter gate,
            Parameter up,
            Parameter down) {}

    private final LlamaConfig config;
    private final Parameter embedTokens;
    private final List<Layer> layers;
    private final Parameter finalNorm;
    private final Parameter lmHead;
    private final List<Parameter> parameters;

    private LlamaModel(LlamaConfig config, Map<String, float[]> values) {
        this.config = config;
        int c = config.hiddenSize();
        int f = config.intermediateSize();
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.numKvHeads() * config.headDim();
        List<Parameter> all = new ArrayList<>();
        this.embedTokens = param(all, values, "model.embed_tokens.weight", config.vocabSize(), c);
        List<Layer> list = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            list.add(new Layer(
                    param(all, values, p + "input_layernorm.weight", c),
                    param(all, values, p + "self_attn.q_proj.weight", qDim, c),
                    param(all, values, p + "self_attn.k_proj.weight", kvDim, c),
                    param(all, values, p + "self_attn.v_proj.weight", kvDim, c),
                    param(all, values, p + "self_attn.o_proj.weight", c, qDim),
                    param(all, values, p + "post_attention_layernorm.weight", c),
                    param(all, values, p + "mlp.gate_proj.weight", f, c),
                    param(all, values, p + "mlp.up_proj.weight", f, c),
                    param(all, values, p + "mlp.down_proj.weight", c, f)));
        }
        this.layers = List.copyOf(list);
        this.finalNorm = param(all, values, "model.norm.weight", c);
        this.lmHead = config.tieWordEmbeddings() ? embedTokens : param(all, values, "lm_head.weight", config.vocabSize(), c);
        this.parameters = List.copyOf(all);
    }

    private static Parameter param(List<Parameter> all, Map<String, float[]> values, String name, int... shape) {
        float[] data = values.get(name);
        int size = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        if (data == null) {
            throw new IllegalArgumentException("missing tensor " + name + " of shape " + Arrays.toString(shape));
        }
        if (data.length != size) {
            throw new IllegalArgumentException("tensor " + name + " has " + data.length + " values; the config needs shape "
                    + Arrays.toString(shape) + " = " + size);
        }
        Parameter p = new Parameter(name, shape, data);
        all.add(p);
        return p;
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

    /** Writes {@code config.json} and {@code model.safetensors} (F32) into {@code dir}. */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.write(dir.resolve("config.json"));
        var tensors = new LinkedHashMap<String, SafeTensors.Tensor>();
        for (Parameter p : parameters) {
            tensors.put(p.name(), new SafeTensors.Tensor(p.shape(), p.values()));
        }
        SafeTensors.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    }

    public LlamaConfig config() {
        return config;
    }

    @Override
    public List<Parameter> parameters() {
        return parameters;
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
