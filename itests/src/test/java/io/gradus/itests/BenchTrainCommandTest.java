package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code gradus bench train} in the modes of the parameter-efficient tuners, run as README.md shows
 * it with one measured step: it trains, and reports the base's bytes per weight and the live heap.
 * (Speed is what the command is for; no test checks it.)
 */
@DisplayName("gradus bench train")
class BenchTrainCommandTest {

    private String out;
    private String err;

    private JsonNode bench(String mode, String... extra) throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        String[] readme = ReadmeCommands.gradus("./gradus bench train --config small --mode qlora", Map.of("qlora", mode), false);
        String[] args = Arrays.copyOf(readme, readme.length + 6 + extra.length);
        System.arraycopy(new String[] {"--steps", "1", "--warmup", "0", "--heap-steps", "1"}, 0, args, readme.length, 6);
        System.arraycopy(extra, 0, args, readme.length + 6, extra.length);
        StringWriter output = new StringWriter();
        StringWriter errors = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(output)).setErr(new PrintWriter(errors)).execute(args);
        out = output.toString();
        err = errors.toString();
        assertThat(exit).as(err).isZero();
        return RunningHost.JSON.readTree(out.lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow());
    }

    @Test
    @DisplayName("qlora: the base's linear weights held in NF4 at bitsandbytes' size, the live heap sampled during a step")
    void qlora() throws Exception {
        JsonNode result = bench("qlora");
        assertThat(result.get("mode").asText()).isEqualTo("qlora");
        assertThat(result.get("tok_s_median").asDouble()).isPositive();
        // SMALL: per layer q and o 128×128, k and v 64×128, three MLP projections 344×128. In NF4 with
        // double quantization a weight of n values takes n/2 code bytes, n/64 scale bytes, 4 bytes per
        // 256 scales and a 4-byte offset: 8,456 + 4,232 + 4,232 + 8,456 + 3 × 22,720 = 93,536 bytes per layer.
        assertThat(result.get("linear_weights").asLong()).isEqualTo(4 * (2 * 16384 + 2 * 8192 + 3 * 44032));
        assertThat(result.get("linear_bytes_per_weight").asDouble()).isEqualTo(4 * 93536.0 / 724992);
        assertThat(result.get("linear_float_mib").asDouble()).isEqualTo(4 * 724992 / (double) (1 << 20));
        assertThat(result.get("heap_collections").asInt()).isPositive();
        assertThat(result.get("heap_peak_live_mib").asDouble()).isGreaterThanOrEqualTo(result.get("heap_live_mib").asDouble());
        assertThat(out).contains("small qlora heap: ", "(0.5161 bytes each)");
    }

    @Test
    @DisplayName("adapters: trains with Houlsby adapters on a float base; the PyTorch reference has no such mode and is not run")
    void adapters() throws Exception {
        JsonNode result = bench("adapters", "--reference", "no-such-script.py");
        assertThat(result.get("mode").asText()).isEqualTo("adapters");
        assertThat(result.get("tok_s_median").asDouble()).isPositive();
        assertThat(result.get("linear_bytes_per_weight").asDouble()).isEqualTo(4.0);
        assertThat(out).contains("the PyTorch reference has no adapters mode (it measures full, lora, infer): Gradus figures only");
    }
}
