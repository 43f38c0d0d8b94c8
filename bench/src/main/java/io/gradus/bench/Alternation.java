package io.gradus.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Runs the sides of a comparison in turn, one step each (A B C A B C ...), so that whatever else
 * the shared machine does meanwhile weighs on all of them alike; a side's steps are never timed in a
 * block of their own. Each round's ratio compares the steps of one round, and the median of those
 * ratios is the comparison's figure: a burst of load that slows a few rounds moves a few ratios,
 * not the median (docs/DESIGN.md, "Benchmarks that cannot flatter Gradus").
 */
final class Alternation {

    private Alternation() {}

    /** One side: a process that runs one step when asked and says how long the step alone took. */
    interface Side {
        /** The side's name in the figures. */
        String name();

        /** The process that runs the steps (for the CPU time other processes take meanwhile). */
        long pid();

        /** Runs one step; its seconds. */
        double step() throws Exception;
    }

    /** A side that runs in this JVM, timed around {@code step}. */
    static Side inProcess(String name, Runnable step) {
        return new Side() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public long pid() {
                return ProcessHandle.current().pid();
            }

            @Override
            public double step() {
                long start = System.nanoTime();
                step.run();
                return (System.nanoTime() - start) / 1e9;
            }
        };
    }

    /**
     * A side's timed steps, one per round in order (none if it was set aside after warm-up, then
     * {@code setAside} says why), and other processes' share of the CPUs during its turns (warm-up
     * included).
     */
    record Timings(String name, double[] seconds, double foreignCpu, String setAside) {}

    /**
     * A reference alternative whose median warm-up step is this many times the fastest alternative's
     * is set aside: it would not be the fastest of any round, and its steps only cost time (libgomp's
     * spinning threads, on a loaded machine, run thirty times slower than sleeping ones).
     */
    static final double SET_ASIDE_FACTOR = 3;

    /**
     * Warms every side up in turn (at least {@code warmup} rounds, and on until {@code minWarmupSeconds}
     * have passed), then times {@code rounds} rounds. The first side is the one measured; the others
     * are alternatives of the reference (compared with the fastest, {@link #fastest}), and from the
     * third warm-up round on, an alternative slower than {@link #SET_ASIDE_FACTOR} times the fastest
     * one (by their median warm-up steps so far) leaves the alternation.
     */
    static List<Timings> run(List<? extends Side> sides, int warmup, double minWarmupSeconds, int rounds) throws Exception {
        List<CpuShare> shares = new ArrayList<>();
        List<List<Double>> warmupSeconds = new ArrayList<>();
        String[] setAside = new String[sides.size()];
        for (int s = 0; s < sides.size(); s++) {
            shares.add(new CpuShare());
            warmupSeconds.add(new ArrayList<>());
        }
        long warmUntil = System.nanoTime() + (long) (minWarmupSeconds * 1e9);
        for (int round = 0; round < warmup || System.nanoTime() < warmUntil; round++) {
            for (int s = 0; s < sides.size(); s++) {
                if (setAside[s] == null) {
                    warmupSeconds.get(s).add(turn(sides.get(s), shares.get(s)));
                }
            }
            if (round >= 2) {
                setAsideSlowAlternatives(sides, warmupSeconds, setAside);
            }
        }
        double[][] seconds = new double[sides.size()][];
        for (int s = 0; s < sides.size(); s++) {
            seconds[s] = new double[setAside[s] == null ? rounds : 0];
        }
        for (int round = 0; round < rounds; round++) {
            for (int s = 0; s < sides.size(); s++) {
                if (setAside[s] == null) {
                    seconds[s][round] = turn(sides.get(s), shares.get(s));
                }
            }
        }
        List<Timings> timings = new ArrayList<>();
        for (int s = 0; s < sides.size(); s++) {
            timings.add(new Timings(sides.get(s).name(), seconds[s], shares.get(s).foreign(), setAside[s]));
        }
        return timings;
    }

    private static void setAsideSlowAlternatives(List<? extends Side> sides, List<List<Double>> warmupSeconds,
            String[] setAside) {
        double fastest = Double.POSITIVE_INFINITY;
        String fastestName = null;
        for (int s = 1; s < sides.size(); s++) {
            if (setAside[s] == null && median(warmupSeconds.get(s)) < fastest) {
                fastest = median(warmupSeconds.get(s));
                fastestName = sides.get(s).name();
            }
        }
        for (int s = 1; s < sides.size(); s++) {
            double median = median(warmupSeconds.get(s));
            if (setAside[s] == null && median > SET_ASIDE_FACTOR * fastest) {
                setAside[s] = String.format(Locale.ROOT, "set aside after %d warm-up steps: median %.4f s, more than %.0f times "
                        + "%s's %.4f s", warmupSeconds.get(s).size(), median, SET_ASIDE_FACTOR, fastestName, fastest);
            }
        }
    }

    private static double median(List<Double> values) {
        return Spread.of(values.stream().mapToDouble(Double::doubleValue).toArray()).median();
    }

    private static double turn(Side side, CpuShare share) throws Exception {
        CpuShare.Reading before = CpuShare.read(side.pid());
        double seconds = side.step();
        share.add(before, CpuShare.read(side.pid()));
        return seconds;
    }

    /**
     * The reference alternative with the fastest median step (those set aside left out). Comparing
     * with it, rather than with the faster of the alternatives in each round, keeps the noise fair:
     * the least of two noisy steps is faster than one step even when the two are equal.
     */
    static Timings fastest(List<Timings> alternatives) {
        return alternatives.stream().filter(side -> side.setAside() == null)
                .min(Comparator.comparingDouble(side -> Spread.of(side.seconds()).median())).orElseThrow();
    }

    /** Per round, how many times faster {@code one} ran than {@code other}: other's seconds over one's. */
    static double[] ratios(Timings one, Timings other) {
        double[] ratios = new double[one.seconds().length];
        for (int round = 0; round < ratios.length; round++) {
            ratios[round] = other.seconds()[round] / one.seconds()[round];
        }
        return ratios;
    }
}
