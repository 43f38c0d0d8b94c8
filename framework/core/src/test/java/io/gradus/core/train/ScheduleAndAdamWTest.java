package io.gradus.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.api.job.Hyperparameters;
import io.gradus.api.model.Parameter;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ScheduleAndAdamWTest {

    private static Hyperparameters schedule(String kind) {
        return new Hyperparameters(110, null, null, null, 1e-3, 10, kind, null, null, null, null, null, null);
    }

    @Test
    @DisplayName("warm-up rises linearly, then cosine, linear and constant decay follow their formulas")
    void schedules() {
        assertThat(LearningRateSchedule.at(schedule("cosine"), 0)).isCloseTo(1e-4, within(1e-12));
        assertThat(LearningRateSchedule.at(schedule("cosine"), 9)).isCloseTo(1e-3, within(1e-12));
        assertThat(LearningRateSchedule.at(schedule("cosine"), 10)).isCloseTo(1e-3, within(1e-12));
        assertThat(LearningRateSchedule.at(schedule("cosine"), 60)).isCloseTo(0.5e-3, within(1e-12));
        assertThat(LearningRateSchedule.at(schedule("cosine"), 35))
                .isCloseTo(1e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), within(1e-12));
        assertThat(LearningRateSchedule.at(schedule("linear"), 35)).isCloseTo(0.75e-3, within(1e-12));
        assertThat(LearningRateSchedule.at(schedule("linear"), 110)).isCloseTo(0, within(1e-12));
        assertThat(LearningRateSchedule.at(schedule("constant"), 100)).isCloseTo(1e-3, within(1e-12));
    }

    @Test
    @DisplayName("AdamW matches a double-precision transcription of torch.optim.AdamW over three steps")
    void adamwMatchesTheFormula() {
        float[] values = {0.5f, -1.5f, 2f, 0.25f};
        float[][] gradients = {{0.1f, -0.2f, 0.3f, 0f}, {0.05f, 0.2f, -0.1f, 1f}, {-0.3f, 0.1f, 0.1f, -2f}};
        Parameter p = new Parameter("w", new int[] {2, 2}, values.clone());
        p.setTrainable(true);
        AdamW adamw = new AdamW(new CpuKernelBackend(), 0.9, 0.999, 1e-8, 0.1);

        double[] expected = {0.5, -1.5, 2, 0.25};
        double[] m = new double[4];
        double[] v = new double[4];
        double lr = 0.01;
        for (int t = 1; t <= 3; t++) {
            System.arraycopy(gradients[t - 1], 0, p.gradient(), 0, 4);
            adamw.step(List.of(p), lr);
            for (int i = 0; i < 4; i++) {
                double g = gradients[t - 1][i];
                expected[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                double mHat = m[i] / (1 - Math.pow(0.9, t));
                double vHat = v[i] / (1 - Math.pow(0.999, t));
                expected[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
            }
        }
        for (int i = 0; i < 4; i++) {
            assertThat((double) p.values()[i]).as("element %d", i).isCloseTo(expected[i], within(1e-6));
        }
    }

    @Test
    @DisplayName("1-D parameters (norm weights) get no weight decay")
    void noDecayForVectors() {
        Parameter norm = new Parameter("model.norm.weight", new int[] {3}, new float[] {1, 1, 1});
        norm.setTrainable(true);
        new AdamW(new CpuKernelBackend(), 0.9, 0.999, 1e-8, 0.5).step(List.of(norm), 0.1);
        assertThat(norm.values()).containsExactly(1f, 1f, 1f); // zero gradient, no decay: unchanged
    }
}
