package io.gradus.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.kernel.Activation;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.kernels.reference.ActivationKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The activation kernels against their definitions in double precision, with an erf of its own
 * (Simpson's rule on 2/√π·e^(−t²), independent of the kernel's rational approximation), and their
 * derivatives against central differences of those definitions.
 */
class ActivationTest {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    /** erf(z) = 2/√π ∫₀^z e^(−t²) dt, Simpson's rule on 20,000 intervals (error far below 1e-12). */
    private static double erf(double z) {
        int n = 20_000;
        double h = z / n;
        double sum = 1 + Math.exp(-z * z);
        for (int i = 1; i < n; i++) {
            double t = i * h;
            sum += (i % 2 == 1 ? 4 : 2) * Math.exp(-t * t);
        }
        return 2 / Math.sqrt(Math.PI) * sum * h / 3;
    }

    private static DoubleUnaryOperator definition(Activation f) {
        return switch (f) {
            case RELU -> x -> Math.max(x, 0);
            case SILU -> x -> x / (1 + Math.exp(-x));
            case GELU -> x -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH -> x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
        };
    }

    /** Values over the interesting range, both signs of zero, and far tails where exp overflows. */
    private static float[] inputs(int n) {
        Random random = new Random(3);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i % 97 == 0 ? (float) (random.nextBoolean() ? 60 : -60) * random.nextFloat()
                    : (float) (4 * random.nextGaussian());
        }
        x[1] = 0f;
        x[2] = -0f;
        x[3] = 1e-6f;
        return x;
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    @DisplayName("forward: the CPU backend gives each function's definition within float rounding")
    void forwardMatchesDefinition(Activation f) {
        int n = 50_021; // several blocks of the fork-join split, and an odd tail
        float[] x = inputs(n);
        float[] out = new float[n];
        cpu.activationForward(f, out, x, n);
        DoubleUnaryOperator exact = definition(f);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < n; i += i < 1000 ? 1 : 37) { // every input near the start, a sample after
            double expected = exact.applyAsDouble(x[i]);
            // One float rounding, plus erf's approximation (1.5e-7 absolute) scaled by x/2 for gelu.
            double tolerance = 1.2e-7 * Math.abs(expected) + 1e-7 * Math.abs(x[i]) + 1e-30;
            if (Math.abs(out[i] - expected) > tolerance) {
                failures.add(f + "(" + x[i] + ") = " + out[i] + ", expected " + expected);
            }
        }
        assertThat(failures).isEmpty();
        float[] reference = new float[n];
        ActivationKernels.forward(f.ordinal(), reference, x, 0, n);
        assertThat(out).as("the CPU backend runs the reference kernel").containsExactly(reference);
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    @DisplayName("backward: dy times the derivative, against central differences of the definition")
    void backwardMatchesFiniteDifferences(Activation f) {
        int n = 20_011;
        float[] x = inputs(n);
        float[] dy = new float[n];
        Random random = new Random(8);
        for (int i = 0; i < n; i++) {
            dy[i] = (float) random.nextGaussian();
        }
        float[] dx = new float[n];
        cpu.activationBackward(f, dx, dy, x, n);
        DoubleUnaryOperator exact = definition(f);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < n; i += i < 500 ? 1 : 41) {
            double h = 1e-4;
            if (f == Activation.RELU && Math.abs(x[i]) < h) {
                // Too close to the kink for differences; at 0 itself PyTorch's gradient is zero.
                assertThat(dx[i]).as("relu'(%s) · %s", x[i], dy[i]).isEqualTo(x[i] > 0 ? dy[i] : 0f);
                continue;
            }
            double slope = (exact.applyAsDouble(x[i] + h) - exact.applyAsDouble(x[i] - h)) / (2 * h);
            double expected = dy[i] * slope;
            if (Math.abs(dx[i] - expected) > 1e-6 + 1e-5 * Math.abs(expected)) {
                failures.add(f + "'(" + x[i] + ") · " + dy[i] + " = " + dx[i] + ", expected " + expected);
            }
        }
        assertThat(failures).isEmpty();
        float[] reference = new float[n];
        ActivationKernels.backward(f.ordinal(), reference, dy, x, 0, n);
        assertThat(dx).as("the CPU backend runs the reference kernel").containsExactly(reference);
    }
}
