package io.gradus.samples.ia3;

import io.gradus.api.model.Linear;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TensorFiles;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Collectors;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code ia3} tuner: every target module is wrapped in an {@link Ia3Layer} whose vector, started
 * at ones, is all that trains; the base model is frozen. Adapters are saved and loaded in PEFT's IA³
 * layout: {@code adapter_config.json} with {@code peft_type: IA3}, {@code target_modules} and
 * {@code feedforward_modules}, and {@code adapter_model.safetensors} with one tensor per module,
 * {@code base_model.model.<module>.ia3_l}, [out, 1] or, for a feedforward module, [1, in]
 * (PEFT: tuners/ia3/layer.py {@code update_layer}; utils/save_and_load.py drops the adapter name).
 */
@Component(service = Tuner.class)
@TechniqueName("ia3")
public final class Ia3Technique implements Tuner<Ia3Config> {

    /** PEFT's prefix of a tuner's tensor names in a saved adapter. */
    static final String PEFT_PREFIX = "base_model.model.";

    @Override
    public Class<Ia3Config> configType() {
        return Ia3Config.class;
    }

    @Override
    public String description() {
        return "IA³: learned vectors rescale the keys, the values and the feed-forward input; the base is frozen";
    }

    @Override
    public Tuning apply(Model model, Ia3Config config) {
        model.parameters().forEach(p -> p.setTrainable(false));
        SequencedMap<String, Ia3Layer> layers = new LinkedHashMap<>();
        for (var entry : List.copyOf(model.linears().entrySet())) {
            String module = entry.getKey();
            if (Ia3Config.names(config.targetModules(), module)) {
                Ia3Layer layer = new Ia3Layer(module, entry.getValue(), Ia3Config.names(config.feedforwardModules(), module));
                model.replaceLinear(module, layer);
                layers.put(module, layer);
            }
        }
        for (String target : config.targetModules()) {
            if (layers.keySet().stream().noneMatch(m -> Ia3Config.names(List.of(target), m))) {
                throw new TechniqueException("ia3: target module '" + target + "' matches no linear module of the model");
            }
        }
        return new Ia3Tuning(layers);
    }

    @Override
    public Tuning load(Model model, Ia3Config config, SequencedMap<String, Parameter> tensors) {
        Ia3Tuning tuning = (Ia3Tuning) apply(model, config);
        for (Ia3Layer layer : tuning.layers.values()) {
            Parameter vector = layer.scale();
            String name = PEFT_PREFIX + vector.name();
            Parameter saved = tensors.get(name);
            if (saved == null) {
                throw new TechniqueException("ia3: the adapter has no tensor " + name);
            }
            if (!Arrays.equals(saved.shape(), vector.shape())) {
                throw new TechniqueException("ia3: tensor " + name + " has shape " + Arrays.toString(saved.shape())
                        + ", the model needs " + Arrays.toString(vector.shape()));
            }
            System.arraycopy(saved.values(), 0, vector.values(), 0, vector.size());
        }
        return tuning;
    }

    /** The vectors of one application of IA³. */
    static final class Ia3Tuning implements Tuning {

        private final SequencedMap<String, Ia3Layer> layers;

        Ia3Tuning(SequencedMap<String, Ia3Layer> layers) {
            this.layers = layers;
        }

        /** The IA³ modules by the name of the module each one wraps. */
        SequencedMap<String, Ia3Layer> layers() {
            return layers;
        }

        @Override
        public List<Parameter> trainableParameters() {
            return layers.values().stream().map(Ia3Layer::scale).toList();
        }

        @Override
        public boolean save(Path dir, TensorFiles files, String baseModel) throws IOException {
            Files.createDirectories(dir);
            SequencedMap<String, Parameter> tensors = new LinkedHashMap<>();
            layers.values().forEach(l -> tensors.put(PEFT_PREFIX + l.scale().name(), l.scale()));
            files.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
            Files.writeString(dir.resolve("adapter_config.json"), adapterConfig(baseModel), StandardCharsets.UTF_8);
            return true;
        }

        /** PEFT's {@code IA3Config} as {@code save_pretrained} writes it (the fields that matter to a loader). */
        private String adapterConfig(String baseModel) {
            return """
                    {
                      "peft_type": "IA3",
                      "task_type": "CAUSAL_LM",
                      "target_modules": %s,
                      "feedforward_modules": %s,
                      "fan_in_fan_out": false,
                      "init_ia3_weights": true,
                      "modules_to_save": null,
                      "inference_mode": true,
                      "base_model_name_or_path": %s
                    }
                    """.formatted(names(layers.keySet().stream().toList()),
                    names(layers.entrySet().stream().filter(e -> e.getValue().feedforward()).map(Map.Entry::getKey).toList()),
                    quoted(baseModel));
        }

        /** The distinct last parts of module names, sorted, as a JSON list: ["down_proj", "k_proj"]. */
        private static String names(List<String> modules) {
            return modules.stream().map(m -> m.substring(m.lastIndexOf('.') + 1)).distinct().sorted()
                    .map(Ia3Tuning::quoted).collect(Collectors.joining(", ", "[", "]"));
        }

        private static String quoted(String text) {
            StringBuilder out = new StringBuilder("\"");
            for (char c : text.toCharArray()) {
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    default -> out.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
                }
            }
            return out.append('"').toString();
        }
    }
}
