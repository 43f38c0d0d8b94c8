package io.gradus.cli;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.host.KernelSelection;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradus kernels}: runs every kernel once on the chosen backend and on the CPU backend (whose
 * kernels are tested against the reference kernels) inside the OSGi host, and compares the results.
 * This is how a device backend is checked where it runs, e.g. TornadoVM on a GPU.
 */
@Command(
        name = "kernels",
        mixinStandardHelpOptions = true,
        description = {"Check every kernel of a backend against the CPU backend on random inputs of a training step's shapes.",
                "Exit status 1 when a kernel differs by more than the tolerance."})
final class KernelsCommand implements Callable<Integer> {

    /** Largest accepted max|difference| / max|CPU result| per output: float sums in another order. */
    static final double TOLERANCE = 1e-4;

    @Spec
    CommandSpec spec;

    @Option(names = "--backend", defaultValue = "${sys:gradus.kernel.backend:-auto}", paramLabel = "NAME",
            description = "Kernels to check: auto (TornadoVM when this JVM runs with it and its first kernel works, else cpu), cpu or tornado. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random inputs. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            KernelBackend target = quiet.kernels(backend);
            KernelBackend cpu = KernelSelection.select(quiet.host(), "cpu").backend();
            if (target == cpu) {
                out.println("The cpu backend is the one the others are checked against (its own parity tests run with"
                        + " 'gradus mvn verify'); choose another with --backend.");
                out.flush();
                return 0;
            }
            out.printf("%-34s %12s %12s  %s%n", "kernel", "max |diff|", "relative", "result");
            int failures = 0;
            for (KernelCases.Case kernelCase : KernelCases.all(seed)) {
                kernelCase.reset();
                float[][] expected = copies(kernelCase.run(cpu));
                kernelCase.reset();
                float[][] actual;
                try {
                    actual = kernelCase.run(target);
                } catch (RuntimeException | LinkageError e) {
                    out.printf("%-34s %12s %12s  FAILED: %s%n", kernelCase.name(), "-", "-", e);
                    failures++;
                    continue;
                }
                double maxDiff = 0;
                double maxRef = 0;
                for (int o = 0; o < expected.length; o++) {
                    for (int i = 0; i < expected[o].length; i++) {
                        maxRef = Math.max(maxRef, Math.abs(expected[o][i]));
                        double diff = Math.abs(expected[o][i] - actual[o][i]);
                        maxDiff = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : Math.max(maxDiff, diff);
                    }
                }
                double relative = maxDiff / Math.max(maxRef, 1e-30);
                boolean ok = relative <= TOLERANCE;
                failures += ok ? 0 : 1;
                out.printf("%-34s %12.3e %12.3e  %s%n", kernelCase.name(), maxDiff, relative, ok ? "ok" : "DIFFERS");
            }
            out.println(failures == 0
                    ? "All kernels of " + target.name() + " agree with the cpu backend (relative tolerance " + TOLERANCE + ")."
                    : failures + " kernel(s) of " + target.name() + " disagree with the cpu backend.");
            out.flush();
            return failures == 0 ? 0 : 1;
        }
    }

    private static float[][] copies(float[][] arrays) {
        float[][] copy = new float[arrays.length][];
        for (int i = 0; i < arrays.length; i++) {
            copy[i] = arrays[i].clone();
        }
        return copy;
    }
}
