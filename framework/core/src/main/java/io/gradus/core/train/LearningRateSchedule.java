package io.gradus.core.train;

import io.gradus.api.job.Hyperparameters;

/**
 * The learning rate of each optimizer step: linear warm-up from 0, then cosine, linear or no decay
 * (the schedules of Hugging Face's {@code get_*_schedule_with_warmup}).
 */
public final class LearningRateSchedule {

    private LearningRateSchedule() {}

    /**
     * The learning rate for the 0-based optimizer step {@code step}:
     * warm-up lr·(step+1)/warmup while step &lt; warmup; then, with progress p from 0 to 1 over the
     * remaining steps, cosine lr·½(1 + cos πp), linear lr·(1 − p), or constant lr.
     */
    public static double at(Hyperparameters hyper, int step) {
        return at(hyper, step, hyper.learningRate());
    }

    /** Like {@link #at(Hyperparameters, int)} with another peak rate (a steered job's). */
    public static double at(Hyperparameters hyper, int step, double peak) {
        int warmup = hyper.warmupSteps();
        if (step < warmup) {
            return peak * (step + 1) / warmup;
        }
        int decaySteps = Math.max(1, hyper.steps() - warmup);
        double progress = Math.min(1.0, (double) (step - warmup) / decaySteps);
        return switch (hyper.schedule()) {
            case "cosine" -> peak * 0.5 * (1 + Math.cos(Math.PI * progress));
            case "linear" -> peak * (1 - progress);
            case "constant" -> peak;
            default -> throw new IllegalArgumentException("unknown schedule " + hyper.schedule());
        };
    }
}
