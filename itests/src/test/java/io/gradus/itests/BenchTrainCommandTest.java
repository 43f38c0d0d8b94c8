package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import io.gradus.core.testing.RequiredTool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code gradus bench train} as README.md shows it, with few steps: beside the PyTorch reference, and
 * in the modes of the parameter-efficient tuners, where it trains and reports the base's bytes per
 * weight and the live heap. (Speed is what the command is for; no test checks it.)
 */
@DisplayName("gradus bench train")
class BenchTrainCommandTest {

    private String out;
    private String err;

    private JsonNode bench(String mode, String... extra) throws Exception {
        return run("./gradus bench train --config small --mode qlora", Map.of("qlora", mode), Stream.concat(
                Stream.of("--steps", "1", "--warmup", "0", "--heap-steps", "1"), Arrays.stream(extra)).toArray(String[]::new));
    }

    /** Runs the README line that starts with {@code prefix}, with {@code extra} arguments after it; Gradus' JSON line. */
    private JsonNode run(String prefix, Map<String, String> placeholders, String... extra) throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        String[] readme = ReadmeCommands.gradus(prefix, placeholders, false);
        String[] args = Arrays.copyOf(readme, readme.length + extra.length);
        System.arraycopy(extra, 0, args, readme.length, extra.length);
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
        JsonNode result = bench("adapters", "--reference");
        assertThat(result.get("mode").asText()).isEqualTo("adapters");
        assertThat(result.get("tok_s_median").asDouble()).isPositive();
        assertThat(result.get("linear_bytes_per_weight").asDouble()).isEqualTo(4.0);
        assertThat(out).contains("the PyTorch reference has no adapters mode (it measures full, lora, infer): Gradus figures only");
    }

    @Test
    @DisplayName("--reference: PyTorch on OpenBLAS steps in turn with Gradus; each side's spread and the ratio per round")
    void reference() throws Exception {
        RequiredTool.require(Processes.torchAvailable(),
                "Debian's python3-torch is not installed (apt-get install python3-torch python3-numpy; .ci/run does)");
        JsonNode gradus = run("./gradus bench train --config small --mode full --reference", Map.of(), "--steps", "2",
                "--warmup", "1", "--heap-steps", "0");
        assertThat(gradus.get("steps").asInt()).isEqualTo(2);
        assertThat(gradus.get("step_s").get("min").asDouble()).isPositive()
                .isLessThanOrEqualTo(gradus.get("step_s").get("median").asDouble());
        List<JsonNode> lines = out.lines().filter(l -> l.startsWith("{")).map(this::json).toList();
        List<JsonNode> references = lines.stream().filter(l -> l.path("impl").asText().equals("reference")).toList();
        // one process per OpenMP wait policy, both on OpenBLAS with a kernel for this CPU (never netlib's BLAS)
        assertThat(references).extracting(r -> r.get("omp_wait").asText()).containsExactly("spin", "sleep");
        for (JsonNode torch : references) {
            assertThat(torch.get("blas").get("vendor").asText()).isEqualTo("OpenBLAS");
            assertThat(torch.get("blas").get("symbol").asText()).isEqualTo("sgemm_");
            assertThat(torch.get("blas").get("core").asText()).isNotEqualToIgnoringCase("Prescott");
            assertThat(torch.get("params").asLong()).isEqualTo(gradus.get("params").asLong());
            assertThat(torch.get("tokens_per_step").asInt()).isEqualTo(8 * 128);
        }
        JsonNode comparison = lines.getLast();
        assertThat(comparison.get("rounds").asInt()).isEqualTo(2);
        assertThat(comparison.get("ratio_median").asDouble()).isPositive();
        assertThat(out).contains("sgemm_ from OpenBLAS", "small full, 2 threads: 2 rounds, each a step of Gradus then of PyTorch");
    }

    private JsonNode json(String line) {
        try {
            return RunningHost.JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }
}
