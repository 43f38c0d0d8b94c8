package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading what {@code gradus forward} prints, and comparing logits. */
final class ForwardJson {

    private ForwardJson() {}

    /** The logits of {@code gradus forward}'s JSON, position after position. */
    static float[] logits(String json) throws Exception {
        JsonNode rows = RunningHost.JSON.readTree(json).get("logits");
        int vocab = rows.get(0).size();
        float[] values = new float[rows.size() * vocab];
        for (int t = 0; t < rows.size(); t++) {
            for (int j = 0; j < vocab; j++) {
                values[t * vocab + j] = rows.get(t).get(j).floatValue();
            }
        }
        return values;
    }

    /** The largest |a[i] - b[i]|; the arrays must have the same length. */
    static double maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
