package io.gradus.plugin.adapters;

import static io.gradus.plugin.adapters.TinyLlama.KERNELS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.model.InsertionPoint;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.Adapters;
import io.gradus.plugin.lora.internal.LoraTechnique;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Adapters in the AdapterHub {@code adapters} library's layout, through the host's adapter loader:
 * saved and loaded back, read from files an independent PyTorch rendering of the library wrote
 * ({@code src/test/python/adapters_reference.py golden}), written for that rendering to read
 * ({@code ... apply}), and refused when they do not fit.
 */
class AdaptersFilesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SafetensorsFiles FILES = new SafetensorsFiles();
    private static final TechniqueCatalog CATALOG = TinyLlama.catalog(Map.of("adapters", new AdaptersTechnique(),
            "lora", new LoraTechnique()));
    private static final Path SCRIPT = Path.of("src/test/python/adapters_reference.py");

    @TempDir
    Path dir;

    private static Path golden() throws Exception {
        return Path.of(AdaptersFilesTest.class.getResource("/adapterhub").toURI());
    }

    private static JsonNode goldenJson() throws Exception {
        return JSON.readTree(golden().resolve("golden.json").toFile());
    }

    private static int[] goldenIds() throws Exception {
        return StreamSupport.stream(goldenJson().get("ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    private static float[] logits(LlamaModel model, int[] ids) {
        return new LlamaEngine(model, KERNELS).forward(TokenBatch.nextToken(1, ids.length, ids)).clone();
    }

    private static double maxDifference(float[] gradus, JsonNode reference) {
        assertThat(reference.size()).isEqualTo(gradus.length);
        double max = 0;
        for (int i = 0; i < gradus.length; i++) {
            max = Math.max(max, Math.abs(gradus[i] - reference.get(i).asDouble()));
        }
        return max;
    }

    private static AdaptersConfig variant(String name) {
        return switch (name) {
            case "houlsby" -> AdaptersTechniqueTest.config("double_seq_bn", Map.of("adapterName", "task-1",
                    "reductionFactor", 4, "scaling", 0.5));
            // An explicit bottleneck that does not divide the hidden size: saved as a reduction factor
            // that gives it back under Python's floor division.
            default -> AdaptersTechniqueTest.config("seq_bn", Map.of("adapterName", "pfeiffer_2", "mhAdapter", true,
                    "nonLinearity", "gelu", "bottleneckSize", 7, "leaveOut", List.of(1)));
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"houlsby", "pfeiffer"})
    @DisplayName("saved in the library's layout and loaded back through the host's adapter loader, an adapter gives the same logits")
    void saveAndLoad(String name) throws Exception {
        LlamaModel model = TinyLlama.model();
        AdaptersConfig config = variant(name);
        var tuning = new AdaptersTechnique().apply(model, config);
        TinyLlama.randomize(tuning, 12, 0.3);
        float[] trained = TinyLlama.logits(model);
        assertThat(tuning.save(dir, FILES, "tiny-base")).isTrue();

        JsonNode saved = JSON.readTree(dir.resolve("adapter_config.json").toFile());
        assertThat(saved.get("version").asText()).isEqualTo("adapters.1.2.0");
        assertThat(saved.get("name").asText()).isEqualTo(config.adapterName());
        assertThat(saved.get("hidden_size").asInt()).isEqualTo(TinyLlama.CONFIG.hiddenSize());
        assertThat(saved.get("model_name").asText()).isEqualTo("tiny-base");
        assertThat(saved.get("config").get("mh_adapter").asBoolean()).isTrue();
        assertThat(saved.get("config").get("original_ln_before").asBoolean()).isEqualTo(name.equals("pfeiffer"));
        assertThat(saved.get("config").get("non_linearity").asText()).isEqualTo(name.equals("houlsby") ? "swish" : "gelu");
        assertThat(FILES.read(dir.resolve("adapter.safetensors")).keySet())
                .containsExactlyElementsOf(tuning.trainableParameters().stream().map(Parameter::name).toList())
                .allMatch(n -> n.startsWith("model.layers.") && n.contains(".adapters." + config.adapterName() + ".adapter_"));

        LlamaModel fresh = TinyLlama.model();
        Tuning loaded = Adapters.apply(fresh, dir, CATALOG);
        assertThat(loaded).isInstanceOf(AdaptersTechnique.AdaptersTuning.class);
        assertThat(((AdaptersTechnique.AdaptersTuning) loaded).config().adapterName()).isEqualTo(config.adapterName());
        assertThat(loaded.trainableCount()).isEqualTo(tuning.trainableCount());
        assertThat(TinyLlama.logits(fresh)).containsExactly(trained);
    }

    @ParameterizedTest
    @ValueSource(strings = {"houlsby", "pfeiffer"})
    @DisplayName("an adapter written by the PyTorch rendering of the library gives its logits within 1e-4")
    void readsTheLibrarysFiles(String name) throws Exception {
        LlamaModel model = LlamaModel.load(golden().resolve("base"));
        float[] base = logits(model, goldenIds());
        Adapters.apply(model, golden().resolve(name), CATALOG);
        float[] adapted = logits(model, goldenIds());
        assertThat(maxDifference(adapted, goldenJson().get("logits").get(name))).as("max |Gradus - PyTorch|")
                .isLessThan(1e-4);
        assertThat(adapted).as("the adapter changes the logits").isNotEqualTo(base);
    }

    @Test
    @DisplayName("bottleneck widths are the library's int(C // r), Python's floor division of floats included")
    void bottleneckWidths() throws Exception {
        for (JsonNode sample : goldenJson().get("bottlenecks")) {
            AdaptersConfig config = AdaptersTechniqueTest.config("seq_bn", Map.of("reductionFactor", sample.get(1).asDouble()));
            assertThat(config.bottleneck(0, sample.get(0).asInt())).as("%s // %s", sample.get(0), sample.get(1))
                    .isEqualTo(sample.get(2).asInt());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"houlsby", "pfeiffer"})
    @DisplayName("PyTorch, applying the adapter files Gradus wrote as the library does, computes the same logits (within 1e-4)")
    void pytorchReadsGradusFiles(String name) throws Exception {
        Assumptions.assumeTrue(run("/usr/bin/python3", "-c", "import torch, numpy").exit() == 0,
                "skipped: Debian's python3-torch is not installed (.ci/run installs it)");
        Path base = golden().resolve("base");
        LlamaModel model = LlamaModel.load(base);
        var tuning = new AdaptersTechnique().apply(model, variant(name));
        TinyLlama.randomize(tuning, 13, 0.3);
        tuning.save(dir, FILES, base.toString());
        int[] ids = goldenIds();
        float[] gradus = logits(model, ids);

        Result torch = run("/usr/bin/python3", SCRIPT.toString(), "apply", base.toString(), dir.toString(),
                Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        assertThat(torch.exit()).as(torch.output()).isZero();
        JsonNode rows = JSON.readTree(torch.output()).get("logits");
        List<JsonNode> flat = StreamSupport.stream(rows.spliterator(), false)
                .flatMap(row -> StreamSupport.stream(row.spliterator(), false)).toList();
        assertThat(maxDifference(gradus, JSON.valueToTree(flat))).as("max |Gradus - PyTorch|").isLessThan(1e-4);
    }

    /** A copy of the golden Houlsby adapter to spoil. */
    private Path houlsbyCopy() throws Exception {
        Path copy = Files.createDirectories(dir.resolve("houlsby"));
        try (Stream<Path> files = Files.list(golden().resolve("houlsby"))) {
            for (Path file : files.toList()) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }
        return copy;
    }

    private void rewriteTensors(Path folder, Consumer<SequencedMap<String, Parameter>> change)
            throws IOException {
        SequencedMap<String, Parameter> tensors = new LinkedHashMap<>(FILES.read(folder.resolve("adapter.safetensors")));
        change.accept(tensors);
        FILES.write(folder.resolve("adapter.safetensors"), tensors, Map.of());
    }

    private static String refusal(LlamaModel model, Path folder) {
        try {
            Adapters.apply(model, folder, CATALOG);
        } catch (IOException e) {
            assertThat(model.insertedModules(0, InsertionPoint.ATTENTION_OUTPUT)).as("nothing inserted").isEmpty();
            return e.getMessage();
        }
        throw new AssertionError(folder + " was not refused");
    }

    @Test
    @DisplayName("bad adapter folders are refused with the file and the field or tensor named, the model left as it was")
    void badInput() throws Exception {
        String prefix = "model.layers.0.attention_adapters.adapters.houlsby.";
        Path folder = houlsbyCopy();
        Path weights = folder.resolve("adapter.safetensors");
        Path configFile = folder.resolve("adapter_config.json");
        LlamaModel model = LlamaModel.load(golden().resolve("base"));

        rewriteTensors(folder, t -> t.put(prefix + "adapter_up.bias",
                new Parameter(prefix + "adapter_up.bias", new int[] {20}, new float[20])));
        assertThat(refusal(model, folder)).isEqualTo(weights + ": adapters: tensor " + prefix
                + "adapter_up.bias has shape [20], the model needs [24] (hidden size 24, bottleneck 6)");
        rewriteTensors(folder, t -> t.remove(prefix + "adapter_up.bias"));
        assertThat(refusal(model, folder)).isEqualTo(weights + ": adapters: the adapter has no tensor " + prefix
                + "adapter_up.bias");
        Files.copy(golden().resolve("houlsby/adapter.safetensors"), weights, StandardCopyOption.REPLACE_EXISTING);
        rewriteTensors(folder, t -> t.put("model.layers.0.attention_adapters.adapters.other.adapter_up.bias",
                new Parameter("x", new int[] {24}, new float[24])));
        assertThat(refusal(model, folder)).startsWith(weights + ": adapters: tensor "
                + "model.layers.0.attention_adapters.adapters.other.adapter_up.bias does not belong to adapter 'houlsby'");

        // The same adapter on a model of another width: its tensors do not fit.
        Files.copy(golden().resolve("houlsby/adapter.safetensors"), weights, StandardCopyOption.REPLACE_EXISTING);
        assertThat(refusal(TinyLlama.model(), folder)).isEqualTo(weights + ": adapters: tensor " + prefix
                + "adapter_down.0.weight has shape [6, 24], the model needs [5, 20] (hidden size 20, bottleneck 5)");

        ObjectNode config = (ObjectNode) JSON.readTree(configFile.toFile());
        ((ObjectNode) config.get("config")).put("architecture", "prefix_tuning");
        Files.writeString(configFile, config.toString());
        assertThat(refusal(model, folder)).isEqualTo(configFile + ": architecture 'prefix_tuning' is not a bottleneck "
                + "adapter: the adapters technique reads bottleneck adapters, whose configuration names no architecture");
        ((ObjectNode) config.get("config")).remove("architecture");
        ((ObjectNode) config.get("config")).put("non_linearity", "leakyrelu");
        Files.writeString(configFile, config.toString());
        assertThat(refusal(model, folder)).startsWith(configFile + ": nonLinearity 'leakyrelu' is not supported");

        config.remove("config");
        Files.writeString(configFile, config.toString());
        assertThat(refusal(model, folder)).isEqualTo(configFile + " names no technique: it has neither PEFT's peft_type "
                + "nor the adapters library's config object");

        Files.copy(golden().resolve("houlsby/adapter_config.json"), configFile, StandardCopyOption.REPLACE_EXISTING);
        Files.delete(weights);
        Files.write(folder.resolve("pytorch_adapter.bin"), new byte[] {0x50, 0x4b});
        assertThat(refusal(model, folder)).isEqualTo(folder.resolve("pytorch_adapter.bin") + " is a PyTorch pickle, "
                + "which Gradus does not read: save the adapter with save_adapter(..., use_safetensors=True) to get "
                + "adapter.safetensors");
    }

    private record Result(int exit, String output) {}

    private static Result run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String error = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out");
        }
        return new Result(p.exitValue(), p.exitValue() == 0 ? output : output + error);
    }
}
