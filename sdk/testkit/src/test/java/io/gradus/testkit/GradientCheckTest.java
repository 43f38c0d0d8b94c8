package io.gradus.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GradientCheckTest {

    @Test
    @DisplayName("the engine's gradients of every parameter of a tiny Llama pass")
    void engineGradientsPass() {
        TinyLlama tiny = TinyLlama.random(3);
        tiny.model().parameters().forEach(p -> p.setTrainable(true));
        TokenBatch batch = tiny.batch(2, 5, 7);

        assertThat(GradientCheck.DEFAULT.withSamples(4).nextTokenLoss(tiny, batch, tiny.model().parameters())).isEmpty();
    }

    @Test
    @DisplayName("a wrong gradient is found, named by element; values are restored and the gradient is the analytic one")
    void wrongGradientIsFound() {
        // L = x0² + 3·x1, whose backward pass forgets the 3: only element 1 is wrong.
        Parameter x = new Parameter("x", new int[] {2}, new float[] {0.5f, -1.25f});
        x.setTrainable(true);
        GradientCheck.Loss loss = backward -> {
            float[] v = x.values();
            if (backward) {
                x.gradient()[0] += 2 * v[0];
            }
            return v[0] * v[0] + 3 * v[1];
        };

        List<GradientCheck.Mismatch> mismatches = GradientCheck.DEFAULT.check(List.of(x), loss);

        assertThat(mismatches).singleElement().satisfies(m -> {
            assertThat(m.parameter()).isEqualTo("x");
            assertThat(m.index()).isEqualTo(1);
            assertThat(m.analytic()).isZero();
            assertThat(m.numeric()).isCloseTo(3.0, within(1e-3));
        });
        assertThat(x.values()).containsExactly(0.5f, -1.25f);
        assertThat(x.gradient()).containsExactly(1f, 0f);
    }
}
