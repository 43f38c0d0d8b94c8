package io.gradus.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.Locale;

/**
 * Five figures of a sample: the least value, the quartiles with the median between them, and the
 * greatest. Quartiles interpolate linearly between the order statistics (numpy's default), so the
 * median of an even count is the mean of the middle two.
 */
record Spread(double min, double q1, double median, double q3, double max) {

    static Spread of(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values to summarize");
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return new Spread(sorted[0], quantile(sorted, 0.25), quantile(sorted, 0.5), quantile(sorted, 0.75),
                sorted[sorted.length - 1]);
    }

    /** The p-quantile of sorted values: position p·(n − 1), between its two neighbours. */
    private static double quantile(double[] sorted, double p) {
        double position = p * (sorted.length - 1);
        int below = (int) Math.floor(position);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    ObjectNode json(ObjectMapper json) {
        return json.createObjectNode().put("min", min).put("q1", q1).put("median", median).put("q3", q3).put("max", max);
    }

    /** "median (quartiles q1–q3, min–max)" with the given format for each figure. */
    String words(String format) {
        return String.format(Locale.ROOT, format + " (quartiles " + format + "–" + format + ", range " + format + "–" + format
                + ")", median, q1, q3, min, max);
    }
}
