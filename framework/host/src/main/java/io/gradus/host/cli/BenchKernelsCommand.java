package io.gradus.host.cli;

import io.gradus.api.kernel.KernelBackend;
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

    @Override
    public Integer call() throws Exception {
        System.setProperty("gradus.kernel.threads", Integer.toString(threads));
        PrintWriter out = spec.commandLine().getOut();
        try (QuietHost quiet = new QuietHost()) {
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
            out.printf("%-34s %-8s %10s %10s%n", "kernel", "backend", "ms/call", "rate");
            out.flush();
            List<KernelCases.Case> cases = KernelCases.all(1);
            // One pass over everything first: kernels share code (the matmul micro-kernel serves
            // several rows), which the JIT should have compiled before any of them is timed.
            for (KernelCases.Case kernelCase : cases) {
                for (KernelBackend kernels : backends) {
                    kernelCase.reset();
                    kernelCase.run(kernels);
                }
            }
            for (KernelCases.Case kernelCase : cases) {
                for (KernelBackend kernels : backends) {
                    double seconds = median(kernelCase, kernels);
                    String rate = kernelCase.flops() > 0
                            ? String.format("%7.1f GFLOP/s", kernelCase.flops() / seconds / 1e9)
                            : String.format("%7.1f GB/s", kernelCase.bytes() / seconds / 1e9);
                    out.printf("%-34s %-8s %10.3f %s%n", kernelCase.name(), kernels.name(), seconds * 1e3, rate);
                    out.flush();
                }
            }
        }
        return 0;
    }

    /** Median seconds per call after a warm-up of at least 5 calls and one second. */
    private double median(KernelCases.Case kernelCase, KernelBackend kernels) {
        long warmUntil = System.nanoTime() + 1_000_000_000L;
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
