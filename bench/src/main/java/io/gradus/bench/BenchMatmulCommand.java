package io.gradus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.kernel.MatmulLayout;
import io.gradus.cli.BackendOption;
import io.gradus.cli.EmbeddedHost;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradus bench matmul}: fp32 matrix-product GFLOP/s of a kernel backend, the median of
 * timed repetitions after warm-up (compare with ../shared/bench/ref_matmul_bench.py run in the same
 * session: OpenBLAS through numpy and PyTorch).
 */
@Command(
        name = "matmul",
        mixinStandardHelpOptions = true,
        description = "fp32 C[m,n] = op(A)·op(B) in GFLOP/s (median of repetitions after warm-up), as one JSON line.")
final class BenchMatmulCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--m", defaultValue = "1024", description = "Rows of C. Default: ${DEFAULT-VALUE}.")
    int m;

    @Option(names = "--n", defaultValue = "1024", description = "Columns of C. Default: ${DEFAULT-VALUE}.")
    int n;

    @Option(names = "--k", defaultValue = "1024", description = "Shared dimension. Default: ${DEFAULT-VALUE}.")
    int k;

    @Option(names = "--layout", defaultValue = "AB", description = "AB, ABT (forward of a linear layer) or ATB (weight gradient). Default: ${DEFAULT-VALUE}.")
    MatmulLayout layout;

    @Option(names = "--threads", defaultValue = "2", description = "Kernel threads. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--reps", defaultValue = "10", description = "Timed repetitions. Default: ${DEFAULT-VALUE}.")
    int reps;

    @Mixin
    BackendOption backend;

    @Option(names = "--reference", paramLabel = "SCRIPT",
            description = "With m = n = k: also run ref_matmul_bench.py (OpenBLAS through numpy, and PyTorch) on --threads and print the ratios.")
    Path reference;

    @Override
    public Integer call() throws Exception {
        System.setProperty("gradus.kernel.threads", Integer.toString(threads));
        Random random = new Random(1);
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        float[] c = new float[m * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = random.nextFloat() - 0.5f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = random.nextFloat() - 0.5f;
        }
        double[] seconds = new double[reps];
        String description;
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            KernelBackend kernels = quiet.kernels(backend.name);
            description = kernels.description();
            // Warm-up until the JIT has compiled the kernels: a fixed budget of work, at least 5 runs.
            long warmupUntil = System.nanoTime() + 2_000_000_000L;
            for (int w = 0; w < 5 || System.nanoTime() < warmupUntil; w++) {
                kernels.matmul(layout, c, a, b, m, n, k, false);
            }
            for (int r = 0; r < reps; r++) {
                long start = System.nanoTime();
                kernels.matmul(layout, c, a, b, m, n, k, false);
                seconds[r] = (System.nanoTime() - start) / 1e9;
            }
        }
        Arrays.sort(seconds);
        double flops = 2.0 * m * n * k;
        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        out.put("m", m).put("n", n).put("k", k).put("layout", layout.name()).put("threads", threads)
                .put("backend", backend.name + ": " + description)
                .put("gflops", flops / seconds[seconds.length / 2] / 1e9)
                .put("gflops_best", flops / seconds[0] / 1e9);
        PrintWriter writer = spec.commandLine().getOut();
        writer.println(json.writeValueAsString(out));
        if (reference != null) {
            if (m != n || n != k) {
                throw new IllegalArgumentException("--reference: the reference multiplies square matrices; use --m = --n = --k");
            }
            double gflops = out.get("gflops").asDouble();
            StringBuilder summary = new StringBuilder(String.format("%d³ %s, %d threads: Gradus %.1f GFLOP/s", n,
                    layout, threads, gflops));
            for (JsonNode line : PythonReference.run(json, reference, threads, Integer.toString(threads), Integer.toString(n))) {
                writer.println(json.writeValueAsString(line));
                double theirs = line.get("gflops").asDouble();
                summary.append(String.format(", %s %.1f (ratio %.2f)", line.get("lib").asText(), theirs, gflops / theirs));
            }
            writer.println(summary);
        }
        writer.flush();
        return 0;
    }
}
