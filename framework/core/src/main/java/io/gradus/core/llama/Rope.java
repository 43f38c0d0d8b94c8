package io.gradus.core.llama;

/** The rotary-embedding angle tables, computed once per sequence length. */
final class Rope {

    private Rope() {}

    /**
     * Fills [seq, headDim/2] tables with cos and sin of t·θ^(−2i/headDim), computed in float32 as
     * Hugging Face does, so positions far from 0 round the same way.
     */
    static void tables(float[] cos, float[] sin, int seq, int headDim, double theta) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            float invFreq = (float) (1.0 / Math.pow(theta, (float) (2 * i) / headDim));
            for (int t = 0; t < seq; t++) {
                float angle = (float) t * invFreq;
                cos[t * half + i] = (float) Math.cos(angle);
                sin[t * half + i] = (float) Math.sin(angle);
            }
        }
    }
}
