package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.DisplayName;

/**
 * A LoRA adapter written in PEFT's layout by an independent PyTorch reference
 * ({@code src/test/python/peft_lora_reference.py}) gives PyTorch's logits through
 * {@code gradus forward --adapter}, merged into the base weights or not.
 */
@DisplayName("gradus forward --adapter")
class ForwardAdapterTest {

    @ParameterizedTest(name = "merged: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("a PEFT LoRA adapter gives PyTorch's logits within 1e-4")
    void matchesPyTorch(boolean merge) throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        Path folder = Path.of(ForwardAdapterTest.class.getResource("/peft-lora").toURI());
        JsonNode golden = RunningHost.JSON.readTree(folder.resolve("golden.json").toFile());
        String ids = StreamSupport.stream(golden.get("ids").spliterator(), false).map(JsonNode::asText)
                .collect(Collectors.joining(","));

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] args = {"forward", "--model", folder.resolve("base").toString(), "--adapter",
                folder.resolve("adapter").toString(), "--ids", ids};
        if (merge) {
            args = java.util.Arrays.copyOf(args, args.length + 1);
            args[args.length - 1] = "--merge";
        }
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        assertThat(exit).as(err.toString()).isZero();

        JsonNode rows = RunningHost.JSON.readTree(out.toString()).get("logits");
        JsonNode expected = golden.get("logits");
        int vocab = rows.get(0).size();
        double max = 0;
        for (int t = 0; t < rows.size(); t++) {
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, Math.abs(rows.get(t).get(j).asDouble() - expected.get(t * vocab + j).asDouble()));
            }
        }
        assertThat(rows.size() * vocab).isEqualTo(expected.size());
        assertThat(max).as("max |logit - PyTorch|").isLessThan(1e-4);
    }
}
