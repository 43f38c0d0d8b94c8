package io.gradus.plugin.adapters;

import static io.gradus.plugin.adapters.TinyLlama.KERNELS;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.kernel.Activation;
import io.gradus.api.model.Parameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One bottleneck adapter on its own: its gradients (both projections, both biases, the input)
 * against central differences of a loss L = Σ y ⊙ R, so dL/dy = R.
 */
class AdapterLayerTest {

    private static final int C = 20;
    private static final int B = 6;
    private static final int ROWS = 13;

    private static float[] gaussian(Random random, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (scale * random.nextGaussian());
        }
        return x;
    }

    private static AdapterLayer layer(Activation activation, double scaling, double dropout, Random random) {
        AdapterLayer layer = new AdapterLayer(new Parameter("down.weight", new int[] {B, C}, gaussian(random, B * C, 0.4)),
                new Parameter("down.bias", new int[] {B}, gaussian(random, B, 0.3)),
                new Parameter("up.weight", new int[] {C, B}, gaussian(random, C * B, 0.4)),
                new Parameter("up.bias", new int[] {C}, gaussian(random, C, 0.3)), activation, scaling, dropout, "adapter", 0);
        layer.parameters().forEach(p -> p.setTrainable(true));
        return layer;
    }

    private static float[][] workspace(AdapterLayer layer) {
        int[] widths = layer.workspaceWidths();
        float[][] workspace = new float[widths.length][];
        for (int j = 0; j < widths.length; j++) {
            workspace[j] = new float[ROWS * widths[j]];
        }
        return workspace;
    }

    private static double loss(AdapterLayer layer, float[] u, float[] r) {
        float[] y = new float[ROWS * C];
        layer.forward(u, y, workspace(layer), ROWS, KERNELS);
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            sum += (double) y[i] * r[i];
        }
        return sum;
    }

    @ParameterizedTest(name = "{0}, scaling {1}, dropout {2}")
    @CsvSource({"SILU, 1.0, 0.0", "RELU, 1.0, 0.0", "GELU, 0.7, 0.0", "GELU_TANH, 1.0, 0.0", "SILU, 2.0, 0.3"})
    @DisplayName("the gradients of the projections, the biases and the input match finite differences")
    void gradients(Activation activation, double scaling, double dropout) {
        Random random = new Random(17);
        AdapterLayer layer = layer(activation, scaling, dropout, random);
        layer.setTraining(true);
        float[] u = gaussian(random, ROWS * C, 1.0);
        float[] r = gaussian(random, ROWS * C, 1.0);
        float[] y = new float[ROWS * C];
        float[][] workspace = workspace(layer);
        layer.forward(u, y, workspace, ROWS, KERNELS);
        float[] du = new float[ROWS * C];
        layer.backward(u, y, workspace, r, du, ROWS, KERNELS);

        double h = 1e-3;
        List<String> failures = new ArrayList<>();
        List<float[]> checked = new ArrayList<>();
        List<float[]> analytic = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Parameter p : layer.parameters()) {
            checked.add(p.values());
            analytic.add(p.gradient());
            names.add(p.name());
        }
        if (dropout == 0) {
            // With dropout the mask is drawn from u itself: differences in u would change the mask.
            checked.add(u);
            analytic.add(du);
            names.add("input");
        }
        for (int k = 0; k < checked.size(); k++) {
            float[] values = checked.get(k);
            for (int s = 0; s < 8; s++) {
                int i = random.nextInt(values.length);
                float saved = values[i];
                values[i] = (float) (saved + h);
                double up = loss(layer, u, r);
                values[i] = (float) (saved - h);
                double down = loss(layer, u, r);
                values[i] = saved;
                double numeric = (up - down) / (2 * h);
                double exact = analytic.get(k)[i];
                if (Math.abs(numeric - exact) > 2e-3 + 1e-2 * Math.abs(numeric)) {
                    failures.add(names.get(k) + "[" + i + "]: analytic " + exact + " numeric " + numeric);
                }
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    @DisplayName("dropout acts in training only, with the same mask for the same input")
    void dropoutInTrainingOnly() {
        Random random = new Random(3);
        AdapterLayer layer = layer(Activation.SILU, 1.0, 0.5, random);
        float[] u = gaussian(random, ROWS * C, 1.0);
        float[] r = gaussian(random, ROWS * C, 1.0);
        double inference = loss(layer, u, r);
        AdapterLayer plain = layer(Activation.SILU, 1.0, 0.0, new Random(3));
        assertThat(inference).isEqualTo(loss(plain, u, r));
        layer.setTraining(true);
        double training = loss(layer, u, r);
        assertThat(training).isNotEqualTo(inference).isEqualTo(loss(layer, u, r));
    }

    @Test
    @DisplayName("with the up-projection and its bias zero the adapter is exactly the identity; disabled, it passes through")
    void identity() {
        Random random = new Random(5);
        AdapterLayer layer = layer(Activation.GELU, 0.5, 0.0, random);
        Arrays.fill(layer.upWeight().values(), 0f);
        Arrays.fill(layer.upBias().values(), 0f);
        float[] u = gaussian(random, ROWS * C, 2.0);
        float[] y = new float[ROWS * C];
        layer.forward(u, y, workspace(layer), ROWS, KERNELS);
        assertThat(y).containsExactly(u);

        AdapterLayer trained = layer(Activation.GELU, 0.5, 0.0, random);
        trained.setEnabled(false);
        float[][] workspace = workspace(trained);
        trained.forward(u, y, workspace, ROWS, KERNELS);
        assertThat(y).containsExactly(u);
        float[] dy = gaussian(random, ROWS * C, 1.0);
        float[] du = new float[ROWS * C];
        trained.backward(u, y, workspace, dy, du, ROWS, KERNELS);
        assertThat(du).containsExactly(dy);
        assertThat(trained.upWeight().gradient()).containsOnly(0f);
    }
}
