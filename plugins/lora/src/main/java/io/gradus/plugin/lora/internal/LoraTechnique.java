package io.gradus.plugin.lora.internal;

import io.gradus.api.model.Linear;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.ScoreHead;
import io.gradus.api.model.TensorFiles;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.plugin.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SequencedMap;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code lora} tuner: freezes the whole model and wraps each targeted linear module in a
 * {@link LoraLayer}; only the low-rank factors train. For a 12,288×12,288 matrix at rank 8 that is
 * 8·(12,288 + 12,288) ≈ 197k trainable numbers instead of 151M.
 *
 * <p>On a sequence classifier (a reward model) the score head trains in full too and is saved with
 * the adapter, as PEFT's {@code PeftModelForSequenceClassification} does: it adds {@code classifier}
 * and {@code score} to {@code modules_to_save}, and the saved adapter has {@code task_type: SEQ_CLS}
 * and the head's tensor {@code base_model.model.score.weight}.
 */
@Component(service = Tuner.class)
@TechniqueName("lora")
public final class LoraTechnique implements Tuner<LoraConfig> {

    @Override
    public Class<LoraConfig> configType() {
        return LoraConfig.class;
    }

    @Override
    public String description() {
        return "LoRA: frozen base, trainable low-rank updates B·A on the target modules";
    }

    @Override
    public LoraTuning apply(Model model, LoraConfig config) {
        return apply(model, config, 0);
    }

    /** Applies LoRA with A drawn from {@code seed} mixed with each module's name (see {@link #initA}). */
    @Override
    public LoraTuning apply(Model model, LoraConfig config, long seed) {
        model.parameters().forEach(p -> p.setTrainable(false));
        Map<String, LoraLayer> layers = new LinkedHashMap<>();
        for (var entry : List.copyOf(model.linears().entrySet())) {
            String name = entry.getKey();
            if (!config.targets(name)) {
                continue;
            }
            Linear base = entry.getValue();
            String suffix = config.adapterName().equals("default") ? ".weight" : "." + config.adapterName() + ".weight";
            LoraLayer layer = LoraLayer.on(base, initA(name + ".lora_A" + suffix, config.r(), base.inFeatures(), seed),
                    new Parameter(name + ".lora_B" + suffix, new int[] {base.outFeatures(), config.r()},
                            new float[base.outFeatures() * config.r()]),
                    config.scaling(), config.loraDropout(), name, seed);
            layer.loraA().setTrainable(true);
            layer.loraB().setTrainable(true);
            model.replaceLinear(name, layer);
            layers.put(name, layer);
        }
        if (layers.isEmpty()) {
            throw new TechniqueException("lora: target modules " + config.targetModules() + " match no linear module; "
                    + "the model has e.g. " + model.linears().keySet().stream().limit(7).toList());
        }
        Parameter head = model.scoreHead().map(ScoreHead::weight).orElse(null);
        if (head != null) {
            head.setTrainable(true);
        }
        return new LoraTuning(config, layers, head);
    }

    /**
     * Applies LoRA and loads saved factors, named as PEFT names them
     * ({@code base_model.model.<module>.lora_A.weight}); every adapted module needs both.
     */
    @Override
    public LoraTuning load(Model model, LoraConfig config, SequencedMap<String, Parameter> tensors) {
        // Every tensor is checked against the model before anything changes: a refused adapter leaves
        // the model as it was, and a configuration that claims a huge rank allocates nothing.
        int expected = 0;
        for (var entry : model.linears().entrySet()) {
            if (config.targets(entry.getKey())) {
                Linear base = entry.getValue();
                requireShape(tensors, peftName(entry.getKey(), true), new int[] {config.r(), base.inFeatures()});
                requireShape(tensors, peftName(entry.getKey(), false), new int[] {base.outFeatures(), config.r()});
                expected += 2;
            }
        }
        Parameter head = model.scoreHead().map(ScoreHead::weight).orElse(null);
        if (head != null) {
            Parameter saved = tensors.get(PEFT_PREFIX + ScoreHead.NAME);
            if (saved == null || !Arrays.equals(saved.shape(), head.shape())) {
                throw new TechniqueException("lora: the adapter of a sequence classifier needs the tensor " + PEFT_PREFIX
                        + ScoreHead.NAME + " of shape " + Arrays.toString(head.shape())
                        + (saved == null ? "; it has none" : ", it has " + Arrays.toString(saved.shape())));
            }
            expected++;
        }
        if (expected > 0 && expected != tensors.size()) {
            throw new TechniqueException("lora: the adapter has " + tensors.size() + " tensors but its configuration "
                    + "targets " + expected + " (target_modules " + config.targetModules() + ")");
        }
        LoraTuning tuning = apply(model, config);
        for (var entry : tuning.layers().entrySet()) {
            for (Parameter target : List.of(entry.getValue().loraA(), entry.getValue().loraB())) {
                Parameter saved = tensors.get(peftName(entry.getKey(), target == entry.getValue().loraA()));
                System.arraycopy(saved.values(), 0, target.values(), 0, target.size());
            }
        }
        if (tuning.head != null) {
            System.arraycopy(tensors.get(PEFT_PREFIX + ScoreHead.NAME).values(), 0, tuning.head.values(), 0,
                    tuning.head.size());
        }
        return tuning;
    }

    /** The saved tensor {@code name} must be there with {@code shape}. */
    private static void requireShape(SequencedMap<String, Parameter> tensors, String name, int[] shape) {
        Parameter saved = tensors.get(name);
        if (saved == null) {
            throw new TechniqueException("lora: the adapter has no tensor " + name);
        }
        if (!Arrays.equals(saved.shape(), shape)) {
            throw new TechniqueException("lora: tensor " + name + " has shape " + Arrays.toString(saved.shape())
                    + ", the model needs " + Arrays.toString(shape));
        }
    }

    /**
     * A ~ U(−1/√in, 1/√in): PyTorch's Kaiming-uniform with a = √5, PEFT's default for lora_A. Seeded
     * by the job's seed and the parameter's name, so the same seed, model and configuration always
     * start from the same adapter, and each module from its own draw.
     */
    private static Parameter initA(String name, int r, int in, long seed) {
        Random random = new Random(name.hashCode() + seed * 0x9E3779B97F4A7C15L);
        float bound = (float) (1 / Math.sqrt(in));
        float[] values = new float[r * in];
        for (int i = 0; i < values.length; i++) {
            values[i] = (random.nextFloat() * 2 - 1) * bound;
        }
        return new Parameter(name, new int[] {r, in}, values);
    }

    /** PEFT prefixes module names with the wrapper path of its PeftModel. */
    static final String PEFT_PREFIX = "base_model.model.";

    /** A factor's name in PEFT's files, which leave the adapter's name out. */
    static String peftName(String module, boolean isA) {
        return PEFT_PREFIX + module + (isA ? ".lora_A.weight" : ".lora_B.weight");
    }

    /** PEFT's modules to save of a sequence classifier ({@code PeftModelForSequenceClassification}). */
    static final List<String> CLASSIFIER_MODULES = List.of("classifier", "score");

    /** The result of applying LoRA: the adapted modules and their trainable factors (and a classifier's head). */
    public static final class LoraTuning implements Tuning {
        private final LoraConfig config;
        private final Map<String, LoraLayer> layers;
        /** A sequence classifier's score head, trained in full and saved with the adapter; null for a causal LM. */
        private final Parameter head;

        LoraTuning(LoraConfig config, Map<String, LoraLayer> layers, Parameter head) {
            this.config = config;
            this.layers = layers;
            this.head = head;
        }

        @Override
        public List<Parameter> trainableParameters() {
            List<Parameter> trainable = new ArrayList<>();
            for (LoraLayer layer : layers.values()) {
                trainable.add(layer.loraA());
                trainable.add(layer.loraB());
            }
            if (head != null) {
                trainable.add(head);
            }
            return trainable;
        }

        public LoraConfig config() {
            return config;
        }

        /** The adapted modules by name. */
        public Map<String, LoraLayer> layers() {
            return layers;
        }

        /**
         * Writes the adapter in PEFT's layout: {@code adapter_config.json} and
         * {@code adapter_model.safetensors} with tensors named
         * {@code base_model.model.<module>.lora_A.weight} [r, in] and {@code ...lora_B.weight} [out, r];
         * for a sequence classifier also the head, {@code base_model.model.score.weight} (PEFT's
         * {@code ModulesToSaveWrapper} saves the wrapped module's state under the module's name).
         */
        @Override
        public boolean save(Path dir, TensorFiles files, String baseModel) throws IOException {
            Files.createDirectories(dir);
            SequencedMap<String, Parameter> tensors = new LinkedHashMap<>();
            for (var entry : layers.entrySet()) {
                tensors.put(peftName(entry.getKey(), true), entry.getValue().loraA());
                tensors.put(peftName(entry.getKey(), false), entry.getValue().loraB());
            }
            if (head != null) {
                tensors.put(PEFT_PREFIX + ScoreHead.NAME, head);
            }
            files.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
            Map<String, Object> adapterConfig = new LinkedHashMap<>();
            adapterConfig.put("peft_type", "LORA");
            adapterConfig.put("task_type", head != null ? "SEQ_CLS" : "CAUSAL_LM");
            if (head != null) {
                adapterConfig.put("modules_to_save", CLASSIFIER_MODULES);
            }
            adapterConfig.put("r", config.r());
            adapterConfig.put("lora_alpha", config.loraAlpha());
            adapterConfig.put("lora_dropout", config.loraDropout());
            adapterConfig.put("target_modules", layers.keySet().stream()
                    .map(n -> n.substring(n.lastIndexOf('.') + 1)).distinct().sorted().toList());
            adapterConfig.put("bias", "none");
            adapterConfig.put("use_rslora", config.useRslora());
            adapterConfig.put("base_model_name_or_path", baseModel);
            adapterConfig.put("fan_in_fan_out", false);
            adapterConfig.put("inference_mode", true);
            Files.writeString(dir.resolve("adapter_config.json"), Json.write(adapterConfig));
            return true;
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

        /** Folds every update into its base weight. */
        @Override
        public boolean merge(io.gradus.api.kernel.KernelBackend kernels) {
            layers.values().forEach(l -> l.merge(kernels));
            return true;
        }

        /** Takes every update out of its base weight again. */
        @Override
        public boolean unmerge(io.gradus.api.kernel.KernelBackend kernels) {
            layers.values().forEach(l -> l.unmerge(kernels));
            return true;
        }
    }
}
