package io.gradus.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class VectorMathTest {

    @Test
    @DisplayName("exp is within 2 ulp of Math.exp over the whole float range, and the vector and scalar forms agree bit for bit")
    void exp() {
        Random random = new Random(3);
        int lanes = VectorMath.S.length();
        float[] x = new float[lanes * 20_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = i % 3 == 0 ? (float) (random.nextDouble() * 175 - 87) : (float) (random.nextGaussian() * 4);
        }
        float[] vector = new float[x.length];
        for (int i = 0; i < x.length; i += lanes) {
            VectorMath.exp(FloatVector.fromArray(VectorMath.S, x, i)).intoArray(vector, i);
        }
        double worstUlps = 0;
        for (int i = 0; i < x.length; i++) {
            float scalar = VectorMath.exp(x[i]);
            assertThat(Float.floatToIntBits(vector[i])).as("x = %s", x[i]).isEqualTo(Float.floatToIntBits(scalar));
            float exact = (float) Math.exp(x[i]);
            worstUlps = Math.max(worstUlps, Math.abs(scalar - exact) / Math.ulp(exact));
        }
        assertThat(worstUlps).isLessThanOrEqualTo(2.0);
        assertThat(VectorMath.exp(0f)).isEqualTo(1f);
    }
}
