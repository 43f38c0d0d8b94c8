package io.gradus.bench;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.cli.KernelCases;
import io.gradus.cli.EmbeddedHost;
import io.gradus.host.KernelSelection;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradus bench kernels}: the speed of every kernel per backend, on a training step's shapes
 * (see {@link KernelCases}), as a table: milliseconds per call (median after warm-up) and GFLOP/s
 * for compute-bound kernels or GB/s of the least memory traffic for the others.
 */
@Command(
        name = "kernels",
        mixinStandardHelpOptions = true,
        description = "Milliseconds, GFLOP/s or GB/s of every kernel per backend, as a table.")
final class BenchKernelsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--backend", defaultValue = "${sys:gradus.kernel.backend:-auto}", paramLabel = "NAME",
            description = "auto (cpu, and tornado too when this JVM runs with TornadoVM), cpu or tornado. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--threads", defaultValue = "2", description = "Threads of the cpu backend. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--reps", defaultValue = "7", description = "Timed calls per kernel. Default: ${DEFAULT-VALUE}.")
    int reps;

    @Option(names = "--warmup-seconds", defaultValue = "1",
            description = "Unmeasured calls per kernel first, for the JIT compiler: at least 5, for this long. Default: ${DEFAULT-VALUE}.")
    double warmupSeconds;

    @Override
    public Integer call() throws Exception {
        System.setProperty("gradus.kernel.threads", Integer.toString(threads));
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            List<KernelBackend> backends = new ArrayList<>();
            if (backend.equals(KernelSelection.AUTO)) {
                backends.add(KernelSelection.select(quiet.host(), "cpu").backend());
                KernelBackend chosen = quiet.kernels(KernelSelection.AUTO);
                if (!backends.contains(chosen)) {
                    backends.add(chosen);
                }
            } else {
                backends.add(quiet.kernels(backend));
            }
            for (KernelBackend kernels : backends) {
                out.println("# " + kernels.name() + ": " + kernels.description());
            }
            out.flush();
            // One backend after the other, never interleaved: a device runtime's worker threads
            // (PoCL's, say) keep spinning for a while after a call and would slow the CPU's timing.
            List<KernelCases.Case> cases = KernelCases.all(1);
            double[][] seconds = new double[backends.size()][cases.size()];
            for (int b = 0; b < backends.size(); b++) {
                KernelBackend kernels = backends.get(b);
                System.err.printf("gradus: timing %d kernels on %s...%n", cases.size(), kernels.name());
                // A pass over everything first: kernels share code (one matmul micro-kernel serves
                // several rows), which the JIT should have compiled before any of them is timed.
                for (KernelCases.Case kernelCase : cases) {
                    kernelCase.reset();
                    kernelCase.run(kernels);
                }
                for (int c = 0; c < cases.size(); c++) {
                    seconds[b][c] = median(cases.get(c), kernels);
                }
            }
            StringBuilder header = new StringBuilder(String.format("%-34s", "kernel"));
            for (KernelBackend kernels : backends) {
                header.append(String.format(" %10s %16s", kernels.name() + " ms", kernels.name() + " rate"));
            }
            out.println(header);
            for (int c = 0; c < cases.size(); c++) {
                KernelCases.Case kernelCase = cases.get(c);
                StringBuilder row = new StringBuilder(String.format("%-34s", kernelCase.name()));
                for (int b = 0; b < backends.size(); b++) {
                    double time = seconds[b][c];
                    row.append(String.format(" %10.3f %16s", time * 1e3, kernelCase.flops() > 0
                            ? String.format("%.1f GFLOP/s", kernelCase.flops() / time / 1e9)
                            : String.format("%.1f GB/s", kernelCase.bytes() / time / 1e9)));
                }
                out.println(row);
            }
            out.flush();
        }
        return 0;
    }

    /** Median seconds per call after a warm-up of at least 5 calls and {@code --warmup-seconds}. */
    private double median(KernelCases.Case kernelCase, KernelBackend kernels) {
        long warmUntil = System.nanoTime() + (long) (warmupSeconds * 1e9);
        for (int w = 0; w < 5 || System.nanoTime() < warmUntil; w++) {
            kernelCase.reset();
            kernelCase.run(kernels);
        }
        double[] seconds = new double[reps];
        for (int r = 0; r < reps; r++) {
            kernelCase.reset();
            long start = System.nanoTime();
            kernelCase.run(kernels);
            seconds[r] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(seconds);
        return seconds[reps / 2];
    }
}
