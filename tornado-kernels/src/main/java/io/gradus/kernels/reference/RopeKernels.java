package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * Rotary position embedding (Su et al. 2021) in Hugging Face's rotate-half layout: element i of a
 * head pairs with element i + D/2 and the pair turns by the angle t·θ^(−2i/D) of its position t.
 */
public final class RopeKernels {

    private RopeKernels() {}

    /**
     * Rotates rows [from, to) of x [batch·seq, heads, headDim] in place; row r is at position r mod seq.
     * With {@code inverse} the angle is negated: the transpose of the rotation, i.e. its backward pass.
     */
    public static void rope(float[] x, float[] cos, float[] sin, int seq, int heads, int headDim, boolean inverse,
            int from, int to) {
        int half = headDim / 2;
        float direction = inverse ? -1f : 1f;
        for (@Parallel int r = from; r < to; r++) {
            int t = r % seq;
            for (int h = 0; h < heads; h++) {
                int base = (r * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[t * half + i];
                    float s = direction * sin[t * half + i];
                    float a = x[base + i];
                    float b = x[base + i + half];
                    x[base + i] = a * c - b * s;
                    x[base + i + half] = b * c + a * s;
                }
            }
        }
    }
}
