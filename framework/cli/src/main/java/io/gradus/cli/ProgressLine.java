package io.gradus.cli;

import io.gradus.api.event.JobProgress;
import java.io.PrintWriter;
import java.util.Locale;

/** A one-line progress bar, redrawn in place after every step: step, loss, learning rate, tokens/s, ETA. */
final class ProgressLine {

    private static final int WIDTH = 24;
    private final PrintWriter out;

    ProgressLine(PrintWriter out) {
        this.out = out;
    }

    void onStep(JobProgress m) {
        int filled = (int) ((long) WIDTH * m.step() / m.totalSteps());
        String bar = "=".repeat(filled) + (filled < WIDTH ? ">" + " ".repeat(WIDTH - filled - 1) : "");
        out.printf(Locale.ROOT, "\rstep %d/%d [%s] loss %.4f  lr %.2e  |g| %.2f  %,.0f tok/s  ETA %s   ", m.step(),
                m.totalSteps(), bar, m.loss(), m.learningRate(), m.gradNorm(), m.tokensPerSecond(), duration(m.etaSeconds()));
        if (m.step() == m.totalSteps()) {
            out.println();
        }
        out.flush();
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
