package io.gradus.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much of the machine's CPU time other processes took while one process ran a step, from Linux's
 * /proc: the machine's busy time (/proc/stat, all CPUs) less the process's own (/proc/PID/stat, all
 * its threads), over the CPUs' wall time. Summed over all the turns of one side of a benchmark, it
 * says how hard the other work on a shared machine pressed on that side's figures. On a system
 * without /proc it is unknown (NaN).
 */
final class CpuShare {

    private static final int CPUS = Runtime.getRuntime().availableProcessors();
    private static final double TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux ABI in use

    private long foreignTicks;
    private double cpuSeconds;
    private boolean unknown;

    /** A reading of the counters at the start of a turn. */
    record Reading(long machineTicks, long processTicks, long nanos) {}

    /** The counters now, for the process {@code pid}; null where /proc cannot be read. */
    static Reading read(long pid) {
        try {
            String[] cpu = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
            long busy = 0;
            for (int i = 1; i <= 8 && i < cpu.length; i++) {
                busy += i == 4 || i == 5 ? 0 : Long.parseLong(cpu[i]);
            }
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // after the command name in parentheses: fields 3.. of proc(5); utime and stime are 14 and 15
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long own = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            return new Reading(busy, own, System.nanoTime());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Adds the turn between {@code before} and {@code after}. */
    void add(Reading before, Reading after) {
        if (before == null || after == null) {
            unknown = true;
            return;
        }
        foreignTicks += Math.max(0, (after.machineTicks() - before.machineTicks()) - (after.processTicks() - before.processTicks()));
        cpuSeconds += CPUS * (after.nanos() - before.nanos()) / 1e9;
    }

    /** Other processes' share of the CPUs over the turns added, 0 to 1 (NaN if unknown). */
    double foreign() {
        return unknown || cpuSeconds == 0 ? Double.NaN : Math.min(1, foreignTicks / TICKS_PER_SECOND / cpuSeconds);
    }

    /** The load averages of /proc/loadavg (1, 5 and 15 minutes), as uptime prints them; "unknown" without /proc. */
    static String loadAverage() {
        try {
            String[] figures = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return figures[0] + ", " + figures[1] + ", " + figures[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
