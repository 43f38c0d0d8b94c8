package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The PyTorch reference of {@code gradus bench} (bench/src/main/python/reference_worker.py) refuses a
 * BLAS that would flatter Gradus, judged by the library that actually serves PyTorch's sgemm_, and
 * sets up DPO's two training workloads as Gradus counts them.
 */
@DisplayName("The benchmarks' PyTorch reference")
class ReferenceWorkerScriptTest {

    private static final Path SCRIPT = Path.of("../bench/src/main/python/reference_worker.py");
    private static final Path NETLIB = Path.of("/usr/lib/x86_64-linux-gnu/blas");

    /** Runs the worker on a tiny product, asks for one step and the end; exit code and everything it printed. */
    private static Processes.Result worker(Map<String, String> environment) throws Exception {
        return worker(environment, "matmul", "AB", "64", "64", "64");
    }

    /** Runs the worker on {@code workload}, asks for one step and the end; exit code and everything it printed. */
    private static Processes.Result worker(Map<String, String> environment, String... workload) throws Exception {
        Processes.requireTorch();
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", SCRIPT.toString()));
        command.addAll(List.of(workload));
        command.add("2");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        builder.environment().putAll(environment);
        Process p = builder.start();
        p.getOutputStream().write("step\nend\n".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        return new Processes.Result(p.exitValue(), output);
    }

    @Test
    @DisplayName("netlib's reference BLAS first on the library path: refused, though OpenBLAS is mapped too (through LAPACK)")
    void refusesNetlib() throws Exception {
        Assumptions.assumeTrue(Files.exists(NETLIB.resolve("libblas.so.3")), "netlib's BLAS (libblas3) is not installed here");
        Processes.Result result = worker(Map.of("LD_LIBRARY_PATH", NETLIB.toString()));
        assertThat(result.exit()).as(result.output()).isEqualTo(3);
        assertThat(result.output()).contains("reference refused: sgemm_ comes from " + NETLIB.resolve("libblas.so.3"),
                "netlib's reference BLAS or an unknown one", "apt-get install libopenblas0-openmp");
    }

    @Test
    @DisplayName("OpenBLAS on its Prescott kernel on a CPU with AVX2: refused")
    void refusesOldKernel() throws Exception {
        Assumptions.assumeTrue(Files.readString(Path.of("/proc/cpuinfo")).contains(" avx2"), "this CPU has no AVX2");
        Processes.Result result = worker(Map.of("OPENBLAS_CORETYPE", "Prescott"));
        assertThat(result.exit()).as(result.output()).isEqualTo(3);
        assertThat(result.output()).contains("chose its Prescott kernel on a CPU with AVX2", "set OPENBLAS_CORETYPE");
    }

    @Test
    @DisplayName("OpenBLAS told this CPU's kernel: ready, one timed step per request, its peak memory at the end")
    void runs() throws Exception {
        boolean avx512 = Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f");
        Processes.Result result = worker(Map.of("OPENBLAS_CORETYPE", avx512 ? "SkylakeX" : "Haswell"));
        assertThat(result.exit()).as(result.output()).isZero();
        assertThat(result.output().lines().toList()).satisfiesExactly(
                ready -> assertThat(ready).contains("\"event\": \"ready\"", "\"vendor\": \"OpenBLAS\"",
                        "\"core\": \"" + (avx512 ? "SkylakeX" : "Haswell") + "\"", "\"symbol\": \"sgemm_\"", "\"layout\": \"AB\"", "\"n\": 64"),
                step -> assertThat(step).startsWith("{\"s\": "),
                end -> assertThat(end).startsWith("{\"event\": \"end\", \"peak_rss_mib\": "));
    }

    @Test
    @DisplayName("dpo and dpo_lora on SMALL: pairs of rows through the policy (2 × 8 × 128 tokens), all weights or LoRA's training")
    void dpo() throws Exception {
        boolean avx512 = Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f");
        // SMALL's parameters, and LoRA's r (in + out) on each layer's seven projections
        long params = 857216;
        long lora = 4 * 8 * (2 * (128 + 128) + 2 * (128 + 64) + 3 * (128 + 344));
        for (String mode : List.of("dpo", "dpo_lora")) {
            // threads that sleep at once: spinning ones crawl on a loaded machine (docs/DESIGN.md)
            Processes.Result result = worker(Map.of("OPENBLAS_CORETYPE", avx512 ? "SkylakeX" : "Haswell", "OMP_WAIT_POLICY",
                    "PASSIVE"), "train", "small", mode);
            assertThat(result.exit()).as(result.output()).isZero();
            var ready = RunningHost.JSON.readTree(result.output().lines().findFirst().orElseThrow());
            assertThat(ready.get("mode").asText()).isEqualTo(mode);
            assertThat(ready.get("tokens_per_step").asInt()).isEqualTo(2 * 8 * 128);
            assertThat(ready.get("params").asLong()).isEqualTo(mode.equals("dpo") ? params : params + lora);
            assertThat(ready.get("trainable").asLong()).isEqualTo(mode.equals("dpo") ? params : lora);
            assertThat(result.output().lines().skip(1).toList()).satisfiesExactly(
                    step -> assertThat(step).startsWith("{\"s\": "),
                    end -> assertThat(end).startsWith("{\"event\": \"end\", \"peak_rss_mib\": "));
        }
    }

    @Test
    @DisplayName("matmul in each layout, any shape: C[m,n] from A and B stored as Gradus' MatmulLayout stores them")
    void layouts() throws Exception {
        boolean avx512 = Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f");
        for (String layout : List.of("AB", "ABT", "ATB")) {
            Processes.Result result = worker(Map.of("OPENBLAS_CORETYPE", avx512 ? "SkylakeX" : "Haswell", "OMP_WAIT_POLICY",
                    "PASSIVE"), "matmul", layout, "48", "32", "16");
            assertThat(result.exit()).as(result.output()).isZero();
            var ready = RunningHost.JSON.readTree(result.output().lines().findFirst().orElseThrow());
            assertThat(ready.get("layout").asText()).isEqualTo(layout);
            assertThat(List.of(ready.get("m").asInt(), ready.get("n").asInt(), ready.get("k").asInt())).containsExactly(48, 32, 16);
            assertThat(ready.get("flops").asDouble()).isEqualTo(2.0 * 48 * 32 * 16);
            // op(A) [48, 16] and op(B) [16, 32]: a transposed operand is a view with strides (1, rows),
            // so OpenBLAS gets a transpose flag as it does from a model's products
            assertThat(ready.get("left_strides").toString()).isEqualTo(layout.equals("ATB") ? "[1,48]" : "[16,1]");
            assertThat(ready.get("right_strides").toString()).isEqualTo(layout.equals("ABT") ? "[1,16]" : "[32,1]");
        }
        Processes.Result unknown = worker(Map.of(), "matmul", "BA", "4", "4", "4");
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.output()).contains("unknown layout BA: AB, ABT or ATB");
        Processes.Result old = worker(Map.of(), "matmul", "64");
        assertThat(old.exit()).isNotZero();
        assertThat(old.output()).contains("usage: reference_worker.py matmul LAYOUT M N K THREADS");
    }
}
