package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code gradus bench train} in the modes of the parameter-efficient tuners and PPO, run as README.md
 * shows it with one measured step: it trains, and reports the base's bytes per weight and the live
 * heap, or PPO's phases.
 * (Speed is what the command is for; no test checks it.)
 */
@DisplayName("gradus bench train")
class BenchTrainCommandTest {

    private String out;
    private String err;

    private JsonNode bench(String mode, String... extra) throws Exception {
        return run(ReadmeCommands.gradus("./gradus bench train --config small --mode qlora", Map.of("qlora", mode), false), extra);
    }

    /** The command {@code readme} with one measured step and no warm-up, and {@code extra}: its JSON line. */
    private JsonNode run(String[] readme, String... extra) throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
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
    @DisplayName("adapters: trains with Houlsby adapters on a float base; the PyTorch reference has no such mode and is not run")
    void adapters() throws Exception {
        JsonNode result = bench("adapters", "--reference", "no-such-script.py");
        assertThat(result.get("mode").asText()).isEqualTo("adapters");
        assertThat(result.get("tok_s_median").asDouble()).isPositive();
        assertThat(result.get("linear_bytes_per_weight").asDouble()).isEqualTo(4.0);
        assertThat(out).contains("the PyTorch reference has no adapters mode (it measures full, lora, dpo, dpo_lora, infer): Gradus figures only");
    }

    @Test
    @DisplayName("ppo: a PPO iteration timed by phase, the value head's bytes beside a separate value model's live heap")
    void ppo() throws Exception {
        JsonNode result = run(ReadmeCommands.gradus("./gradus bench train --config small --mode ppo", Map.of(), false));
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
}
