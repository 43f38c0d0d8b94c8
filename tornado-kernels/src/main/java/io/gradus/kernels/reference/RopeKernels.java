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
     * {@code direction} is 1 for the rotation and −1 for its inverse (the angle negated): the
     * transpose of the rotation, i.e. its backward pass.
     */
    public static void rope(float[] x, float[] cos, float[] sin, int seq, int heads, int headDim, float direction,
            int from, int to) {
        int half = headDim / 2;
        for (@Parallel int at = 0; at < to - from; at++) {
            int r = from + at;
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
