package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code gradus bench matmul --reference} as README.md shows it, with few rounds: PyTorch's products
 * on OpenBLAS alternate with Gradus'. (Speed is what the command is for; no test checks it.)
 */
@DisplayName("gradus bench matmul")
class BenchMatmulCommandTest {

    @Test
    @DisplayName("--reference: torch.mm on OpenBLAS in turn with Gradus, both wait policies, the ratio per round")
    void reference() throws Exception {
        Processes.requireTorch();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        String[] readme = ReadmeCommands.gradus("./gradus bench matmul ", Map.of(), true);
        String[] args = Arrays.copyOf(readme, readme.length + 2);
        args[readme.length] = "--reps";
        args[readme.length + 1] = "3";
        StringWriter output = new StringWriter();
        StringWriter errors = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(output)).setErr(new PrintWriter(errors)).execute(args);
        assertThat(exit).as(errors.toString()).isZero();
        List<JsonNode> lines = output.toString().lines().filter(l -> l.startsWith("{")).map(BenchMatmulCommandTest::json).toList();
        JsonNode gradus = lines.getFirst();
        assertThat(gradus.get("n").asInt()).isEqualTo(1024);
        assertThat(gradus.get("steps").asInt()).isEqualTo(3);
        assertThat(gradus.get("gflops_median").asDouble()).isPositive();
        List<JsonNode> references = lines.stream().filter(l -> l.path("impl").asText().equals("reference")).toList();
        assertThat(references).extracting(r -> r.get("omp_wait").asText()).containsExactly("spin", "sleep");
        assertThat(references).extracting(r -> r.get("blas").get("vendor").asText()).containsOnly("OpenBLAS");
        assertThat(references).extracting(r -> r.get("n").asInt()).containsOnly(1024);
        assertThat(lines.getLast().get("rounds").asInt()).isEqualTo(3);
        assertThat(output.toString()).contains("1024³ AB, 2 threads: 3 rounds, each a step of Gradus then of PyTorch");
    }

    @Test
    @DisplayName("--reference at one of the engine's shapes: a layer's weight gradient (ATB), not square")
    void referenceAtAnEngineShape() throws Exception {
        Processes.requireTorch();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        StringWriter output = new StringWriter();
        StringWriter errors = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(output)).setErr(new PrintWriter(errors)).execute(
                "bench", "matmul", "--m", "96", "--n", "64", "--k", "40", "--layout", "ATB", "--threads", "2", "--reps", "3",
                "--reference");
        assertThat(exit).as(errors.toString()).isZero();
        List<JsonNode> lines = output.toString().lines().filter(l -> l.startsWith("{")).map(BenchMatmulCommandTest::json).toList();
        assertThat(lines.getFirst().get("layout").asText()).isEqualTo("ATB");
        List<JsonNode> references = lines.stream().filter(l -> l.path("impl").asText().equals("reference")).toList();
        assertThat(references).hasSize(2).allSatisfy(r -> {
            assertThat(r.get("layout").asText()).isEqualTo("ATB");
            assertThat(List.of(r.get("m").asInt(), r.get("n").asInt(), r.get("k").asInt())).containsExactly(96, 64, 40);
        });
        assertThat(output.toString()).contains("96×64×40 ATB, 2 threads: 3 rounds");
    }

    @Test
    @DisplayName("a shape with no rows: refused with the option named")
    void emptyShape() {
        StringWriter errors = new StringWriter();
        int exit = Gradus.commandLine().setErr(new PrintWriter(errors)).execute("bench", "matmul", "--m", "0");
        assertThat(exit).isNotZero();
        assertThat(errors.toString()).contains("--m, --n and --k must be at least 1 (got 0×1024×1024)");
    }

    private static JsonNode json(String line) {
        try {
            return RunningHost.JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }
}
