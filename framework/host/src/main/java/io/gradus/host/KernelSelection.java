package io.gradus.host;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.kernel.MatmulLayout;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;

/**
 * Chooses the kernel backend a job runs on. {@code auto} takes TornadoVM only when this JVM was
 * launched with it and a first kernel really runs on its device (with a correct result), and the
 * pure-Java CPU backend otherwise; {@code cpu} and {@code tornado} force one (forcing tornado fails
 * with the reason when it cannot run). Either way the choice comes with one line saying which
 * backend and why.
 */
public final class KernelSelection {

    /** The default request. */
    public static final String AUTO = "auto";

    private static final Duration WAIT = Duration.ofSeconds(10);

    private KernelSelection() {}

    /** A backend and the one line that says which and why. */
    public record Choice(KernelBackend backend, String line) {}

    public static Choice select(GradusHost host, String requested) throws InterruptedException {
        return switch (requested) {
            case "cpu" -> {
                KernelBackend cpu = backend(host, "cpu");
                yield new Choice(cpu, line(cpu, "as asked (--backend cpu)"));
            }
            case "tornado" -> {
                String problem = tornadoProblem(host);
                if (problem != null) {
                    throw new IllegalArgumentException("--backend tornado: " + problem);
                }
                KernelBackend tornado = backend(host, "tornado");
                yield new Choice(tornado, line(tornado, "as asked (--backend tornado)"));
            }
            case AUTO -> {
                String problem = tornadoProblem(host);
                if (problem == null) {
                    KernelBackend tornado = backend(host, "tornado");
                    yield new Choice(tornado, line(tornado, "TornadoVM is loaded and its first kernel ran correctly"));
                }
                KernelBackend cpu = backend(host, "cpu");
                yield new Choice(cpu, line(cpu, problem));
            }
            default -> {
                KernelBackend other = host.awaitService(KernelBackend.class, filter(requested), WAIT)
                        .orElseThrow(() -> new IllegalArgumentException("--backend: no kernel backend named '"
                                + requested + "' is running (known: auto, cpu, tornado)"));
                yield new Choice(other, line(other, "as asked (--backend " + requested + ")"));
            }
        };
    }

    /** Why the tornado backend cannot be used here, or null when it can. */
    private static String tornadoProblem(GradusHost host) throws InterruptedException {
        if (SystemPackages.tornadoApi().isEmpty()) {
            return "TornadoVM is not loaded in this JVM (set TORNADOVM_HOME to a TornadoVM SDK and run ./gradus)";
        }
        Optional<KernelBackend> tornado = host.awaitService(KernelBackend.class, filter("tornado"), WAIT);
        if (tornado.isEmpty()) {
            return "TornadoVM is loaded but no tornado backend was registered: the kernels bundle is not active or"
                    + " could not open a TornadoVM device (its error is among the problems of 'gradus bundles')";
        }
        try {
            String wrong = firstKernel(tornado.get());
            return wrong == null ? null : "TornadoVM's first kernel gave a wrong result: " + wrong;
        } catch (Throwable e) { // a missing native driver surfaces as an Error, e.g. UnsatisfiedLinkError
            return "TornadoVM's first kernel failed: " + e;
        }
    }

    /**
     * Runs a small A·Bᵀ on {@code backend} and compares it with a double-precision product: null when
     * right, else what was wrong.
     */
    static String firstKernel(KernelBackend backend) {
        int m = 8, n = 16, k = 32;
        Random random = new Random(1);
        float[] a = new float[m * k];
        float[] b = new float[n * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = random.nextFloat() - 0.5f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = random.nextFloat() - 0.5f;
        }
        float[] c = new float[m * n];
        backend.matmul(MatmulLayout.ABT, c, a, b, m, n, k, false);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = 0;
                for (int p = 0; p < k; p++) {
                    exact += (double) a[i * k + p] * b[j * k + p];
                }
                if (!(Math.abs(c[i * n + j] - exact) <= 1e-4)) {
                    return "C[" + i + "," + j + "] = " + c[i * n + j] + ", expected " + exact;
                }
            }
        }
        return null;
    }

    private static KernelBackend backend(GradusHost host, String name) throws InterruptedException {
        return host.awaitService(KernelBackend.class, filter(name), WAIT)
                .orElseThrow(() -> new IllegalStateException("no '" + name + "' kernel backend is running; "
                        + "is the kernels bundle active? (see 'gradus bundles')"));
    }

    private static String filter(String name) {
        return "(" + KernelBackend.NAME_PROPERTY + "=" + name + ")";
    }

    private static String line(KernelBackend backend, String why) {
        return "kernels: " + backend.name() + " (" + backend.description() + "); " + why;
    }
}
