package io.gradus.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.kernel.MatmulLayout;
import io.gradus.cli.BackendOption;
import io.gradus.cli.EmbeddedHost;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradus bench matmul}: fp32 matrix-product GFLOP/s of a kernel backend, the median of
 * timed repetitions after warm-up; with {@code --reference}, PyTorch's torch.mm (OpenBLAS, with both
 * OpenMP wait policies) multiplies the same shape and layout in turn with Gradus, one product each, and
 * the ratio is taken per round against the faster of the two (by median). The engine's own shapes
 * (a layer's forward is ABT, its weight gradient ATB; attention's k is a head's width) are what the
 * step's time is made of, so the reference takes any of them, not only a square.
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

    @Option(names = "--reps", defaultValue = "50",
            description = "Timed repetitions; with --reference, rounds of one product by Gradus and by each reference process. Default: ${DEFAULT-VALUE}.")
    int reps;

    @Mixin
    BackendOption backend;

    @Option(names = "--reference",
            description = "Also multiply with PyTorch (OpenBLAS) on --threads, the same shape and layout, in turn with Gradus, and print the ratio per round.")
    boolean reference;

    @Override
    public Integer call() throws Exception {
        if (m < 1 || n < 1 || k < 1) {
            throw new ParameterException(spec.commandLine(), "--m, --n and --k must be at least 1 (got " + shape() + ")");
        }
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
        ObjectMapper json = new ObjectMapper();
        List<ReferenceWorker> references = new ArrayList<>();
        String description;
        String loadBefore;
        List<Alternation.Timings> timed;
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            if (reference) {
                ReferenceWorker.startEachPolicy(references, json, threads, "matmul", layout.name(),
                        Integer.toString(m), Integer.toString(n), Integer.toString(k));
            }
            KernelBackend kernels = quiet.kernels(backend.name);
            description = kernels.description();
            List<Alternation.Side> sides = new ArrayList<>();
            sides.add(Alternation.inProcess("Gradus", () -> kernels.matmul(layout, c, a, b, m, n, k, false)));
            sides.addAll(references);
            // Warm-up until the JIT has compiled the kernels: at least 5 rounds and 2 seconds.
            loadBefore = CpuShare.loadAverage();
            timed = Alternation.run(sides, 5, 2, reps);
            ReferenceWorker.endEach(references);
        } finally {
            references.forEach(ReferenceWorker::close);
        }
        double flops = 2.0 * m * n * k;
        ObjectNode out = json.createObjectNode();
        out.put("m", m).put("n", n).put("k", k).put("layout", layout.name()).put("threads", threads)
                .put("backend", backend.name + ": " + description);
        Comparison.put(json, out, timed.getFirst(), flops / 1e9, "gflops");
        PrintWriter writer = spec.commandLine().getOut();
        writer.println(json.writeValueAsString(out));
        if (reference) {
            Comparison.print(writer, json, String.format(Locale.ROOT, "%s %s, %d threads", shape(), layout, threads), 
                    references.stream().map(ReferenceWorker::described).toList(), timed, flops / 1e9, "gflops", loadBefore);
        }
        writer.flush();
        return 0;
    }

    /** "1024³" for a cube, else "m×n×k". */
    private String shape() {
        return m == n && n == k ? m + "³" : m + "×" + n + "×" + k;
    }
}
