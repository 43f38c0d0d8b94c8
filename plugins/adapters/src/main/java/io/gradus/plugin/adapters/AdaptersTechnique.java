package io.gradus.plugin.adapters;

import io.gradus.api.model.InsertionPoint;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TensorFiles;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeMap;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code adapters} tuner: freezes the model and inserts a bottleneck {@link AdapterLayer} after
 * the attention and/or the MLP sub-layer of every decoder layer (Houlsby's double_seq_bn, Pfeiffer's
 * seq_bn); only the adapters train. Per adapter 2·C·b + b + C numbers train (C the hidden size, b the
 * bottleneck): Houlsby puts two in each layer, 2·(2·C·b + b + C) per layer, that is
 * 2·(2·C·C/r + C/r + C) when the reduction factor r divides C.
 *
 * <p>Saved and loaded in the layout of the AdapterHub {@code adapters} library: see {@link #load}
 * and {@link AdaptersTuning#save}.
 */
@Component(service = Tuner.class)
@TechniqueName("adapters")
public final class AdaptersTechnique implements Tuner<AdaptersConfig> {

    /** The weights file the library writes with {@code use_safetensors=True}. */
    public static final String WEIGHTS_FILE = "adapter.safetensors";

    /** The library's configuration file. */
    public static final String CONFIG_FILE = "adapter_config.json";

    /** The library version whose file format this follows, as the library records it. */
    static final String FORMAT_VERSION = "adapters.1.2.0";

    @Override
    public Class<AdaptersConfig> configType() {
        return AdaptersConfig.class;
    }

    @Override
    public String description() {
        return "Bottleneck adapters (Houlsby, Pfeiffer): frozen base, small trainable networks in every layer";
    }

    /** One adapter to insert: where, under which tensor-name prefix, how wide. */
    private record Site(int layer, InsertionPoint point, String prefix, int bottleneck) {
        /** The library's state-dict names of its four tensors, in its order. */
        List<String> tensorNames() {
            return List.of(prefix + ".adapter_down.0.weight", prefix + ".adapter_down.0.bias",
                    prefix + ".adapter_up.weight", prefix + ".adapter_up.bias");
        }

        List<int[]> shapes(int c) {
            return List.of(new int[] {bottleneck, c}, new int[] {bottleneck}, new int[] {c, bottleneck}, new int[] {c});
        }
    }

    /**
     * Where the adapters of {@code config} go in {@code model}: per adapted layer, after attention
     * ({@code attention_adapters}, the library's {@code mh_adapter}) and after the MLP
     * ({@code output_adapters}), at the sub-layer's output or, with {@code originalLnBefore}, on the
     * residual stream after its add.
     */
    private static List<Site> sites(Model model, AdaptersConfig config) {
        if (model.layerCount() == 0) {
            throw new TechniqueException("adapters: the model has no decoder layers to insert adapters into");
        }
        for (int layer : config.leaveOut()) {
            if (layer < 0 || layer >= model.layerCount()) {
                throw new TechniqueException("adapters: leaveOut names layer " + layer + ", but the model has layers 0 to "
                        + (model.layerCount() - 1));
            }
        }
        boolean stream = config.readsResidualStream();
        List<Site> sites = new ArrayList<>();
        for (int l = 0; l < model.layerCount(); l++) {
            if (!config.adapts(l)) {
                continue;
            }
            int b;
            try {
                b = config.bottleneck(l, model.hiddenSize());
            } catch (IllegalArgumentException e) {
                throw new TechniqueException("adapters: " + e.getMessage());
            }
            String layer = "model.layers." + l + ".";
            if (config.mhAdapter()) {
                sites.add(new Site(l, stream ? InsertionPoint.POST_ATTENTION : InsertionPoint.ATTENTION_OUTPUT,
                        layer + "attention_adapters.adapters." + config.adapterName(), b));
            }
            if (config.outputAdapter()) {
                sites.add(new Site(l, stream ? InsertionPoint.LAYER_OUTPUT : InsertionPoint.MLP_OUTPUT,
                        layer + "output_adapters.adapters." + config.adapterName(), b));
            }
        }
        if (sites.isEmpty()) {
            throw new TechniqueException("adapters: leaveOut " + config.leaveOut() + " leaves no layer to adapt");
        }
        Set<String> taken = new HashSet<>();
        model.parameters().forEach(p -> taken.add(p.name()));
        for (Site site : sites) {
            if (taken.contains(site.tensorNames().getFirst())) {
                throw new TechniqueException("adapters: the model already has an adapter named '" + config.adapterName()
                        + "'; give this one another adapterName");
            }
        }
        return sites;
    }

    @Override
    public AdaptersTuning apply(Model model, AdaptersConfig config) {
        return apply(model, config, 0);
    }

    /** Inserts fresh adapters, their initial weights and dropout masks drawn from the job's {@code seed}. */
    @Override
    public AdaptersTuning apply(Model model, AdaptersConfig config, long seed) {
        return insert(model, config, sites(model, config), seed);
    }

    private static AdaptersTuning insert(Model model, AdaptersConfig config, List<Site> sites, long seed) {
        model.parameters().forEach(p -> p.setTrainable(false));
        SequencedMap<String, AdapterLayer> layers = new LinkedHashMap<>();
        int c = model.hiddenSize();
        for (Site site : sites) {
            List<String> names = site.tensorNames();
            List<int[]> shapes = site.shapes(c);
            List<Parameter> parameters = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                boolean weight = i % 2 == 0;
                boolean down = i < 2;
                parameters.add(new Parameter(names.get(i), shapes.get(i),
                        weight ? initialWeight(config, names.get(i), shapes.get(i), down, seed) : new float[shapes.get(i)[0]]));
            }
            AdapterLayer layer = new AdapterLayer(parameters.get(0), parameters.get(1), parameters.get(2),
                    parameters.get(3), config.activation(), config.scalingFactor(), config.dropout(), site.prefix(), seed);
            layer.parameters().forEach(p -> p.setTrainable(true));
            model.insert(site.layer(), site.point(), layer);
            layers.put(site.prefix(), layer);
        }
        return new AdaptersTuning(config, c, layers);
    }

    /**
     * A fresh weight as {@code initWeights} says, seeded by the job's seed, the tensor's name (and
     * {@code initWeightsSeed}), so the same seed, model and configuration start from the same adapter:
     * mam_adapter, the down-projection U(−1/√C, 1/√C) (PyTorch's Kaiming-uniform with a = √5) and the
     * up-projection zero; bert, N(0, 0.02²); houlsby, N(0, 0.01²) redrawn outside ±0.02.
     */
    private static float[] initialWeight(AdaptersConfig config, String name, int[] shape, boolean down, long seed) {
        Random random = new Random(name.hashCode() * 31L + (config.initWeightsSeed() == null ? 0 : config.initWeightsSeed())
                + seed * 0x9E3779B97F4A7C15L);
        float[] values = new float[shape[0] * shape[1]];
        switch (config.initWeights()) {
            case "mam_adapter" -> {
                if (down) {
                    float bound = (float) (1 / Math.sqrt(shape[1]));
                    for (int i = 0; i < values.length; i++) {
                        values[i] = (random.nextFloat() * 2 - 1) * bound;
                    }
                }
            }
            case "bert" -> {
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (0.02 * random.nextGaussian());
                }
            }
            default -> { // houlsby
                for (int i = 0; i < values.length; i++) {
                    double v;
                    do {
                        v = random.nextGaussian();
                    } while (Math.abs(v) > 2);
                    values[i] = (float) (0.01 * v);
                }
            }
        }
        return values;
    }

    /**
     * Applies the adapters and loads saved weights, named as the library names them
     * ({@code model.layers.<i>.attention_adapters.adapters.<name>.adapter_down.0.weight}, or without
     * the leading {@code model.} when saved from a bare {@code LlamaModel}). Every tensor is checked
     * before the model is touched: each adapter needs its four, of the shapes the model and the
     * configuration give, and no tensor may be left over.
     */
    @Override
    public AdaptersTuning load(Model model, AdaptersConfig config, SequencedMap<String, Parameter> tensors) {
        List<Site> sites = sites(model, config);
        Map<String, Parameter> found = new LinkedHashMap<>();
        Set<String> used = new HashSet<>();
        for (Site site : sites) {
            List<String> names = site.tensorNames();
            List<int[]> shapes = site.shapes(model.hiddenSize());
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                String bare = name.substring("model.".length());
                String saved = tensors.containsKey(name) ? name : tensors.containsKey(bare) ? bare : null;
                if (saved == null) {
                    throw new TechniqueException("adapters: the adapter has no tensor " + name);
                }
                Parameter tensor = tensors.get(saved);
                if (!Arrays.equals(tensor.shape(), shapes.get(i))) {
                    throw new TechniqueException("adapters: tensor " + saved + " has shape " + Arrays.toString(tensor.shape())
                            + ", the model needs " + Arrays.toString(shapes.get(i)) + " (hidden size " + model.hiddenSize()
                            + ", bottleneck " + site.bottleneck() + ")");
                }
                found.put(name, tensor);
                used.add(saved);
            }
        }
        for (String name : tensors.keySet()) {
            if (!used.contains(name)) {
                throw new TechniqueException("adapters: tensor " + name + " does not belong to adapter '"
                        + config.adapterName() + "' as configured (mhAdapter " + config.mhAdapter() + ", outputAdapter "
                        + config.outputAdapter() + ", leaveOut " + config.leaveOut() + ")");
            }
        }
        AdaptersTuning tuning = insert(model, config, sites, 0);
        for (AdapterLayer layer : tuning.layers().values()) {
            for (Parameter p : layer.parameters()) {
                System.arraycopy(found.get(p.name()).values(), 0, p.values(), 0, p.size());
            }
        }
        return tuning;
    }

    /** The result of applying adapters: the inserted layers by tensor-name prefix, and what trains. */
    public static final class AdaptersTuning implements Tuning {
        private final AdaptersConfig config;
        private final int hiddenSize;
        private final SequencedMap<String, AdapterLayer> layers;

        AdaptersTuning(AdaptersConfig config, int hiddenSize, SequencedMap<String, AdapterLayer> layers) {
            this.config = config;
            this.hiddenSize = hiddenSize;
            this.layers = layers;
        }

        public AdaptersConfig config() {
            return config;
        }

        /** The inserted layers by the library's module path, e.g. {@code model.layers.0.attention_adapters.adapters.default}. */
        public SequencedMap<String, AdapterLayer> layers() {
            return layers;
        }

        @Override
        public List<Parameter> trainableParameters() {
            List<Parameter> trainable = new ArrayList<>();
            layers.values().forEach(l -> trainable.addAll(l.parameters()));
            return trainable;
        }

        /**
         * Writes the adapter in the {@code adapters} library's layout: {@value AdaptersTechnique#CONFIG_FILE} as its
         * {@code build_full_config} writes it, and the weights under its state-dict names in
         * {@value AdaptersTechnique#WEIGHTS_FILE}, which the library loads (it writes it with
         * {@code use_safetensors=True}).
         */
        @Override
        public boolean save(Path dir, TensorFiles files, String baseModel) throws IOException {
            Files.createDirectories(dir);
            SequencedMap<String, Parameter> tensors = new LinkedHashMap<>();
            layers.values().forEach(l -> l.parameters().forEach(p -> tensors.put(p.name(), p)));
            files.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
            Map<String, Object> full = new TreeMap<>(); // the library sorts the keys
            full.put("config", libraryConfig());
            full.put("hidden_size", hiddenSize);
            full.put("model_class", "LlamaForCausalLM");
            full.put("model_name", baseModel);
            full.put("model_type", "llama");
            full.put("name", config.adapterName());
            full.put("version", FORMAT_VERSION);
            files.writeJson(dir.resolve(CONFIG_FILE), full);
            return true;
        }

        /** Every field of the library's {@code BnConfig}, those Gradus does not support at their defaults. */
        private Map<String, Object> libraryConfig() {
            Map<String, Object> c = new TreeMap<>();
            c.put("mh_adapter", config.mhAdapter());
            c.put("output_adapter", config.outputAdapter());
            c.put("reduction_factor", savedReductionFactor());
            c.put("non_linearity", config.nonLinearity());
            c.put("original_ln_before", config.originalLnBefore());
            c.put("original_ln_after", config.originalLnAfter());
            c.put("ln_before", false);
            c.put("ln_after", false);
            c.put("init_weights", config.initWeights());
            c.put("init_weights_seed", config.initWeightsSeed());
            c.put("is_parallel", false);
            c.put("scaling", config.scalingFactor());
            c.put("use_gating", false);
            c.put("residual_before_ln", config.residualBeforeLn());
            c.put("adapter_residual_before_ln", false);
            c.put("inv_adapter", null);
            c.put("inv_adapter_reduction_factor", null);
            c.put("cross_adapter", false);
            c.put("leave_out", config.leaveOut());
            c.put("dropout", config.dropout());
            c.put("phm_layer", false);
            c.put("phm_dim", 4);
            c.put("factorized_phm_W", true);
            c.put("shared_W_phm", false);
            c.put("shared_phm_rule", true);
            c.put("factorized_phm_rule", false);
            c.put("phm_c_init", "normal");
            c.put("phm_init_range", 0.0001);
            c.put("learn_phm", true);
            c.put("hypercomplex_nonlinearity", "glorot-uniform");
            c.put("phm_rank", 1);
            c.put("phm_bias", true);
            c.put("stochastic_depth", 0.0);
            return c;
        }

        /**
         * The reduction factor as configured, or for an explicit bottleneck b the factor from which
         * the library's {@code int(C // r)} gives b back: C/b when b divides C, else C/(b + ½) (the
         * quotient then lies half-way between integers, safe from the floor's rounding).
         */
        private Object savedReductionFactor() {
            if (config.bottleneckSize() == null) {
                return config.reductionFactor();
            }
            int b = config.bottleneckSize();
            return hiddenSize % b == 0 ? (double) hiddenSize / b : hiddenSize / (b + 0.5);
        }

        @Override
        public void setTraining(boolean training) {
            layers.values().forEach(l -> l.setTraining(training));
        }

        /** Turns this adapter on or off; other adapters on the same model are not touched. */
        @Override
        public boolean setEnabled(boolean enabled) {
            layers.values().forEach(l -> l.setEnabled(enabled));
            return true;
        }
    }
}
