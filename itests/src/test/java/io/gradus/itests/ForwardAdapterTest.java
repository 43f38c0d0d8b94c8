package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Adapters written by independent PyTorch references give PyTorch's logits through {@code gradus
 * forward --adapter}, run as README.md shows it: a LoRA adapter in PEFT's layout
 * ({@code src/test/python/peft_lora_reference.py}), merged into the base weights or not, and
 * bottleneck adapters in the AdapterHub {@code adapters} layout (the adapters bundle's
 * {@code adapters_reference.py} golden files), which cannot be merged.
 */
@DisplayName("gradus forward --adapter")
class ForwardAdapterTest {

    /** The adapters bundle's golden files: a base model, Houlsby and Pfeiffer adapters, PyTorch's logits. */
    private static final Path ADAPTERHUB = Path.of("..", "plugins", "adapters", "src", "test", "resources", "adapterhub");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "merged: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("a PEFT LoRA adapter gives PyTorch's logits within 1e-4")
    void peftLora(boolean merge) throws Exception {
        Path folder = Path.of(ForwardAdapterTest.class.getResource("/peft-lora").toURI());
        JsonNode golden = RunningHost.JSON.readTree(folder.resolve("golden.json").toFile());
        Run run = forward(folder.resolve("base"), folder.resolve("adapter"), golden.get("ids"), merge);
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(maxDifference(run.out(), golden.get("logits"))).as("max |logit - PyTorch|").isLessThan(1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"houlsby", "pfeiffer"})
    @DisplayName("a bottleneck adapter in the AdapterHub layout gives PyTorch's logits within 1e-4; --merge is refused")
    void adapterHub(String name) throws Exception {
        JsonNode golden = RunningHost.JSON.readTree(ADAPTERHUB.resolve("golden.json").toFile());
        Run run = forward(ADAPTERHUB.resolve("base"), ADAPTERHUB.resolve(name), golden.get("ids"), false);
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(maxDifference(run.out(), golden.get("logits").get(name))).as("max |logit - PyTorch|").isLessThan(1e-4);

        Run merged = forward(ADAPTERHUB.resolve("base"), ADAPTERHUB.resolve(name), golden.get("ids"), true);
        assertThat(merged.exit()).isNotZero();
        assertThat(merged.err()).contains("--merge: the adapter in " + ADAPTERHUB.resolve(name) + " cannot be folded");
    }

    @Test
    @DisplayName("an AdapterHub folder of another architecture, or whose tensors do not fit the model, is refused naming the file and tensor")
    void refusesAdaptersThatDoNotFit() throws Exception {
        JsonNode golden = RunningHost.JSON.readTree(ADAPTERHUB.resolve("golden.json").toFile());
        Path prefix = Files.createDirectories(dir.resolve("prefix"));
        Files.copy(ADAPTERHUB.resolve("houlsby/adapter.safetensors"), prefix.resolve("adapter.safetensors"));
        ObjectNode config = (ObjectNode) RunningHost.JSON.readTree(ADAPTERHUB.resolve("houlsby/adapter_config.json").toFile());
        ((ObjectNode) config.get("config")).put("architecture", "prefix_tuning");
        RunningHost.JSON.writeValue(prefix.resolve("adapter_config.json").toFile(), config);
        Run other = forward(ADAPTERHUB.resolve("base"), prefix, golden.get("ids"), false);
        assertThat(other.exit()).isNotZero();
        assertThat(other.err()).contains(prefix.resolve("adapter_config.json").toString(),
                "architecture 'prefix_tuning' is not a bottleneck adapter");

        // The Houlsby adapter (hidden size 24) on the PEFT test's base (hidden size 16).
        Path smaller = Path.of(ForwardAdapterTest.class.getResource("/peft-lora/base").toURI());
        Run misfit = forward(smaller, ADAPTERHUB.resolve("houlsby"), golden.get("ids"), false);
        assertThat(misfit.exit()).isNotZero();
        assertThat(misfit.err()).contains(ADAPTERHUB.resolve("houlsby/adapter.safetensors").toString(),
                "tensor model.layers.0.attention_adapters.adapters.houlsby.adapter_down.0.weight has shape [6, 24]");
    }

    private record Run(int exit, String out, String err) {}

    /** README's {@code gradus forward --adapter} command with the given folders and ids, --merge if asked. */
    private static Run forward(Path model, Path adapter, JsonNode ids, boolean merge) throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        String idList = StreamSupport.stream(ids.spliterator(), false).map(JsonNode::asText).collect(Collectors.joining(","));
        String[] args = ReadmeCommands.gradus("./gradus forward --model DIR --adapter ADIR",
                Map.of("DIR", model.toString(), "ADIR", adapter.toString(), "1,2,3", idList), merge);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** The largest difference between the logits of {@code gradus forward}'s JSON and a flat list of expected ones. */
    private static double maxDifference(String json, JsonNode expected) throws Exception {
        float[] values = new float[expected.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) expected.get(i).asDouble();
        }
        return ForwardJson.maxDifference(ForwardJson.logits(json), values);
    }
}
