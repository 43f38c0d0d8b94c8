package io.gradus.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * The figures of an {@link Alternation}: each side's step times and rates with their spread, and how
 * Gradus compares with the reference round by round.
 */
final class Comparison {

    private Comparison() {}

    /**
     * Puts one side's figures into {@code node}: {@code step_s} (its spread), {@code UNIT_median},
     * {@code UNIT_best} and {@code UNIT} (the spread of the rate, {@code work} per step), and
     * {@code foreign_cpu}, other processes' share of the CPUs during its turns.
     */
    static ObjectNode put(ObjectMapper json, ObjectNode node, Alternation.Timings timings, double work, String unit) {
        node.put("foreign_cpu", timings.foreignCpu());
        if (timings.setAside() != null) {
            return node.put("set_aside", timings.setAside());
        }
        Spread seconds = Spread.of(timings.seconds());
        Spread rate = Spread.of(rates(timings.seconds(), work));
        node.put("steps", timings.seconds().length);
        node.put("step_s_median", seconds.median());
        node.set("step_s", seconds.json(json));
        node.put(unit + "_median", rate.median());
        node.put(unit + "_best", rate.max());
        node.set(unit, rate.json(json));
        return node;
    }

    /** What a reference side runs on, as JSON and in words. */
    record Described(ObjectNode json, String words) {}

    /**
     * Prints each reference side's line (what it ran on, its figures) with its BLAS in words, then
     * the comparison as JSON ({@code ratio}: the spread of the per-round ratios, Gradus' speed over
     * the fastest reference's in the same round) and in words, after {@code title}.
     *
     * @param timed Gradus' timings first, then the references' in their order
     */
    static void print(PrintWriter out, ObjectMapper json, String title, List<Described> references,
            List<Alternation.Timings> timed, double work, String unit, String loadBefore) throws IOException {
        Alternation.Timings gradus = timed.getFirst();
        List<Alternation.Timings> theirs = timed.subList(1, timed.size());
        for (int r = 0; r < references.size(); r++) {
            Alternation.Timings timings = theirs.get(r);
            ObjectNode node = references.get(r).json().put("side", timings.name());
            out.println(json.writeValueAsString(put(json, node, timings, work, unit)));
            out.println(references.get(r).words() + (timings.setAside() == null ? "" : "; " + timings.setAside()));
        }
        Alternation.Timings fastest = Alternation.fastest(theirs);
        Spread ratio = Spread.of(Alternation.ratios(gradus, fastest));
        Spread ours = Spread.of(rates(gradus.seconds(), work));
        Spread reference = Spread.of(rates(fastest.seconds(), work));
        String loadAfter = CpuShare.loadAverage();
        ObjectNode node = json.createObjectNode();
        node.put("comparison", "gradus/reference");
        node.put("reference", fastest.name());
        node.put("rounds", gradus.seconds().length);
        node.set("ratio", ratio.json(json));
        node.put("ratio_median", ratio.median());
        node.put("load_before", loadBefore);
        node.put("load_after", loadAfter);
        out.println(json.writeValueAsString(node));
        String format = unit.equals("tok_s") ? "%,.0f" : "%.1f";
        String units = unit.equals("tok_s") ? "tokens/s" : "GFLOP/s";
        List<String> alternated = theirs.stream().filter(t -> t.setAside() == null).map(Alternation.Timings::name).toList();
        out.println(String.format(Locale.ROOT, "%s: %d rounds, each a step of Gradus then of %s: Gradus %s %s; %s (the "
                + "fastest reference) %s %s; ratio Gradus/reference per round: %s. Load average %s before, %s after; other "
                + "processes held %s of the CPUs during Gradus' steps, %s during %s's.", title, gradus.seconds().length,
                String.join(", ", alternated), ours.words(format), units, fastest.name(), reference.words(format), units,
                ratio.words("%.2f"), loadBefore, loadAfter, percent(gradus.foreignCpu()), percent(fastest.foreignCpu()),
                fastest.name()));
    }

    private static String percent(double share) {
        return Double.isNaN(share) ? "an unknown share" : String.format(Locale.ROOT, "%.0f%%", 100 * share);
    }

    private static double[] rates(double[] seconds, double work) {
        double[] rates = new double[seconds.length];
        for (int i = 0; i < seconds.length; i++) {
            rates[i] = work / seconds[i];
        }
        return rates;
    }
}
