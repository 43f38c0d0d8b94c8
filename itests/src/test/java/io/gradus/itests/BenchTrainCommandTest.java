package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code gradus bench train} as README.md shows it, with few steps: beside the PyTorch reference
 * (full fine-tuning and DPO), in the modes of the parameter-efficient tuners, where it trains and
 * reports the base's bytes per weight and the live heap, and PPO's phases; a comparison the
 * reference cannot make is refused. (Speed is what the command is for; no test checks it.)
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
        assertThat(execute(prefix, placeholders, extra)).as(err).isZero();
        return RunningHost.JSON.readTree(out.lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow());
    }

    /** Runs the README line that starts with {@code prefix}, with {@code extra} arguments after it; its exit status. */
    private int execute(String prefix, Map<String, String> placeholders, String... extra) throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        String[] readme = ReadmeCommands.gradus(prefix, placeholders, false);
        String[] args = Arrays.copyOf(readme, readme.length + extra.length);
        System.arraycopy(extra, 0, args, readme.length, extra.length);
        StringWriter output = new StringWriter();
        StringWriter errors = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(output)).setErr(new PrintWriter(errors)).execute(args);
        out = output.toString();
        err = errors.toString();
        return exit;
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
    @DisplayName("dpo_lora and dpo: pairs of rows through the policy and its reference, as the PyTorch reference counts them")
    void dpo() throws Exception {
        for (String mode : new String[] {"dpo_lora", "dpo"}) {
            JsonNode result = bench(mode);
            assertThat(result.get("mode").asText()).isEqualTo(mode);
            // SMALL: 8 pairs of 128 tokens, chosen and rejected each a row.
            assertThat(result.get("tokens_per_step").asInt()).isEqualTo(2 * 8 * 128);
            assertThat(result.get("tok_s_median").asDouble()).isPositive();
            assertThat(result.get("heap_collections").asInt()).isPositive();
        }
    }

    @Test
    @DisplayName("full, lora and infer, the README's other modes: LoRA adds r·(in + out) per projection; inference samples no heap")
    void fullLoraInfer() throws Exception {
        JsonNode full = bench("full");
        JsonNode lora = bench("lora");
        JsonNode infer = bench("infer");
        for (JsonNode result : List.of(full, lora, infer)) {
            assertThat(result.get("tok_s_median").asDouble()).isPositive();
            assertThat(result.get("tokens_per_step").asInt()).as("SMALL: 8 rows of 128 tokens").isEqualTo(8 * 128);
        }
        // r 8 on the seven projections of SMALL's 4 layers (hidden 128, k and v 64 wide, MLP 344):
        // q and o 8·(128 + 128), k and v 8·(128 + 64), gate, up and down 8·(128 + 344).
        assertThat(lora.get("params").asLong() - full.get("params").asLong())
                .isEqualTo(4 * (2 * 8 * 256 + 2 * 8 * 192 + 3 * 8 * 472));
        assertThat(infer.get("params").asLong()).isEqualTo(full.get("params").asLong());
        assertThat(full.has("heap_collections")).isTrue();
        assertThat(infer.has("heap_collections")).as("inference has no training step to sample").isFalse();
    }

    @Test
    @DisplayName("adapters: trains with Houlsby adapters on a float base")
    void adapters() throws Exception {
        JsonNode result = bench("adapters");
        assertThat(result.get("mode").asText()).isEqualTo("adapters");
        assertThat(result.get("tok_s_median").asDouble()).isPositive();
        assertThat(result.get("linear_bytes_per_weight").asDouble()).isEqualTo(4.0);
    }

    @Test
    @DisplayName("ppo: a PPO iteration timed by phase, the value head's bytes beside a separate value model's live heap")
    void ppo() throws Exception {
        JsonNode result = run("./gradus bench train --config small --mode ppo", Map.of(), "--steps", "1", "--warmup", "0");
        assertThat(result.get("mode").asText()).isEqualTo("ppo");
        double iteration = result.get("iteration_s_median").asDouble();
        double phases = result.get("generation_s").asDouble() + result.get("scoring_s").asDouble()
                + result.get("forward_s").asDouble();
        assertThat(result.get("generation_s").asDouble()).isPositive();
        assertThat(result.get("scoring_s").asDouble()).isPositive();
        assertThat(result.get("forward_s").asDouble()).isPositive();
        assertThat(result.get("optimisation_s").asDouble()).isPositive().isCloseTo(iteration - phases, within(1e-9));
        assertThat(result.get("optimizer_steps_per_iteration").asInt()).isEqualTo(4);
        // SMALL's hidden size is 128: the head's weight, gradient and two moments.
        assertThat(result.get("value_head_bytes").asLong()).isEqualTo(4 * 128 * 4);
        // At least a model's weights, gradients and two moments in floats.
        assertThat(result.get("value_model_bytes").asLong()).isGreaterThan(16 * result.get("params").asLong());
        assertThat(out).contains("small ppo, 2 threads: ", "generation", "a separate value model");
    }

    @Test
    @DisplayName("--reference in a mode the PyTorch reference has no rendering of: refused in one line naming the modes it has")
    void referenceRefused() throws Exception {
        for (String mode : List.of("adapters", "qlora", "ppo")) {
            assertThat(execute("./gradus bench train --config small --mode full --reference", Map.of("full", mode))).isEqualTo(2);
            assertThat(out).isEmpty();
            assertThat(err.lines().findFirst().orElseThrow()).isEqualTo("gradus bench train: the PyTorch reference has no "
                    + mode + " mode (it has full, lora, dpo, dpo_lora, infer): leave out --reference to measure Gradus alone");
        }
    }

    @Test
    @DisplayName("--against: ppo, or a DPO mode against one without pairs, is refused in one line")
    void againstRefused() throws Exception {
        assertThat(execute("./gradus bench train --config small --mode ppo", Map.of(), "--against", "lora")).isEqualTo(2);
        assertThat(err.lines().findFirst().orElseThrow()).isEqualTo("gradus bench train: --against alternates steps, and ppo "
                + "is timed by iteration and phase: run --mode ppo alone");
        assertThat(execute("./gradus bench train --config small --mode qlora", Map.of("qlora", "dpo"), "--against", "full"))
                .isEqualTo(2);
        assertThat(err.lines().findFirst().orElseThrow()).isEqualTo("gradus bench train: --against compares modes that put the "
                + "same tokens through the policy: dpo and dpo_lora (pairs of rows) with each other, the other modes with each other");
        assertThat(out).isEmpty();
    }

    @Test
    @DisplayName("--against: DPO on LoRA steps in turn with DPO in full, both counting the pairs' rows")
    void againstDpo() throws Exception {
        JsonNode gradus = run("./gradus bench train --config small --mode qlora", Map.of("qlora", "dpo_lora"), "--against",
                "dpo", "--steps", "2", "--warmup", "0", "--heap-steps", "0");
        assertThat(gradus.get("steps").asInt()).isEqualTo(2);
        List<JsonNode> lines = out.lines().filter(l -> l.startsWith("{")).map(this::json).toList();
        assertThat(lines.get(1).get("mode").asText()).isEqualTo("dpo");
        assertThat(lines.getLast().get("rounds").asInt()).isEqualTo(2);
        // the rates of both sides count 2 rows of 128 tokens per pair, 8 pairs: the best rate is the fastest step's
        for (JsonNode side : List.of(gradus, lines.get(1))) {
            assertThat(side.get("tok_s_best").asDouble() * side.get("step_s").get("min").asDouble())
                    .isCloseTo(2 * 8 * 128, within(1e-6));
        }
        assertThat(out).contains("small dpo_lora, 2 threads: 2 rounds, each a step of Gradus then of Gradus dpo");
    }

    @Test
    @DisplayName("--reference: PyTorch on OpenBLAS steps in turn with Gradus (full fine-tuning and DPO on LoRA); each side's "
            + "spread and the ratio per round")
    void reference() throws Exception {
        Processes.requireTorch();
        for (String mode : List.of("full", "dpo_lora")) {
            JsonNode gradus = run("./gradus bench train --config small --mode full --reference", Map.of("full", mode), "--steps",
                    "2", "--warmup", "1", "--heap-steps", "0");
            assertThat(gradus.get("steps").asInt()).isEqualTo(2);
            assertThat(gradus.get("step_s").get("min").asDouble()).isPositive()
                    .isLessThanOrEqualTo(gradus.get("step_s").get("median").asDouble());
            List<JsonNode> lines = out.lines().filter(l -> l.startsWith("{")).map(this::json).toList();
            List<JsonNode> references = lines.stream().filter(l -> l.path("impl").asText().equals("reference")).toList();
            // one process per OpenMP wait policy, both on OpenBLAS with a kernel for this CPU (never netlib's BLAS)
            assertThat(references).extracting(r -> r.get("omp_wait").asText()).containsExactly("spin", "sleep");
            for (JsonNode torch : references) {
                assertThat(torch.get("mode").asText()).isEqualTo(mode);
                assertThat(torch.get("blas").get("vendor").asText()).isEqualTo("OpenBLAS");
                assertThat(torch.get("blas").get("symbol").asText()).isEqualTo("sgemm_");
                assertThat(torch.get("blas").get("core").asText()).isNotEqualToIgnoringCase("Prescott");
                assertThat(torch.get("params").asLong()).isEqualTo(gradus.get("params").asLong());
                // SMALL: 8 rows of 128 tokens, or 8 pairs of two such rows
                assertThat(torch.get("tokens_per_step").asInt()).isEqualTo(gradus.get("tokens_per_step").asInt())
                        .isEqualTo((mode.equals("full") ? 1 : 2) * 8 * 128);
            }
            JsonNode comparison = lines.getLast();
            assertThat(comparison.get("rounds").asInt()).isEqualTo(2);
            assertThat(comparison.get("ratio_median").asDouble()).isPositive();
            assertThat(out).contains("sgemm_ from OpenBLAS",
                    "small " + mode + ", 2 threads: 2 rounds, each a step of Gradus then of PyTorch");
        }
    }

    private JsonNode json(String line) {
        try {
            return RunningHost.JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }
}
