package io.gradus.api.job;

import io.gradus.api.technique.Setting;

/**
 * Optimisation settings of a job. Any field left out of the job file takes the default shown.
 *
 * @param steps optimizer steps (default 100)
 * @param batchSize sequences per micro-batch (default 8)
 * @param seqLen tokens per sequence (default 128)
 * @param gradAccumulation micro-batches per optimizer step (default 1)
 * @param learningRate peak learning rate (default 3e-4)
 * @param warmupSteps linear warm-up steps (default 0)
 * @param schedule {@code cosine}, {@code linear} or {@code constant} decay after warm-up (default cosine)
 * @param weightDecay AdamW decoupled weight decay (default 0.0)
 * @param beta1 AdamW first-moment decay (default 0.9)
 * @param beta2 AdamW second-moment decay (default 0.999)
 * @param epsilon AdamW epsilon (default 1e-8)
 * @param maxGradNorm clip the global gradient norm to this value; 0 disables (default 1.0)
 * @param packing join examples end to end into full rows (default true); false gives each example
 *     its own row, cut or padded to seqLen, with no loss on the padding
 */
public record Hyperparameters(
        @Setting(description = "Optimizer steps.", min = 1) Integer steps,
        @Setting(description = "Sequences per micro-batch.", min = 1) Integer batchSize,
        @Setting(description = "Tokens per sequence.", min = 1) Integer seqLen,
        @Setting(description = "Micro-batches per optimizer step.", min = 1) Integer gradAccumulation,
        @Setting(description = "Peak learning rate.", min = 0) Double learningRate,
        @Setting(description = "Steps of linear warm-up before the schedule.", min = 0) Integer warmupSteps,
        @Setting(description = "How the learning rate decays after warm-up.", choices = {"cosine", "linear", "constant"})
                String schedule,
        @Setting(description = "AdamW's decoupled weight decay.", min = 0) Double weightDecay,
        @Setting(description = "AdamW's first-moment decay.", min = 0, max = 1, exclusiveMax = true) Double beta1,
        @Setting(description = "AdamW's second-moment decay.", min = 0, max = 1, exclusiveMax = true) Double beta2,
        @Setting(description = "AdamW's epsilon.", min = 0) Double epsilon,
        @Setting(description = "Clip the global gradient norm to this value; 0 disables clipping.", min = 0)
                Double maxGradNorm,
        @Setting(description = "Join examples end to end into full rows; off gives each example its own padded row.")
                Boolean packing) {

    public Hyperparameters {
        steps = positive("steps", steps, 100);
        batchSize = positive("batchSize", batchSize, 8);
        seqLen = positive("seqLen", seqLen, 128);
        gradAccumulation = positive("gradAccumulation", gradAccumulation, 1);
        learningRate = nonNegative("learningRate", learningRate, 3e-4);
        warmupSteps = warmupSteps == null ? 0 : warmupSteps;
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps must be >= 0, was " + warmupSteps);
        }
        schedule = schedule == null ? "cosine" : schedule;
        if (!schedule.equals("cosine") && !schedule.equals("linear") && !schedule.equals("constant")) {
            throw new IllegalArgumentException(
                    "schedule must be one of cosine, linear, constant; was '" + schedule + "'");
        }
        weightDecay = nonNegative("weightDecay", weightDecay, 0.0);
        beta1 = unitInterval("beta1", beta1, 0.9);
        beta2 = unitInterval("beta2", beta2, 0.999);
        epsilon = nonNegative("epsilon", epsilon, 1e-8);
        maxGradNorm = nonNegative("maxGradNorm", maxGradNorm, 1.0);
        packing = packing == null || packing;
    }

    /** All defaults. */
    public static Hyperparameters defaults() {
        return new Hyperparameters(null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    private static int positive(String field, Integer value, int fallback) {
        int v = value == null ? fallback : value;
        if (v <= 0) {
            throw new IllegalArgumentException(field + " must be > 0, was " + v);
        }
        return v;
    }

    private static double nonNegative(String field, Double value, double fallback) {
        double v = value == null ? fallback : value;
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(field + " must be a finite number >= 0, was " + v);
        }
        return v;
    }

    private static double unitInterval(String field, Double value, double fallback) {
        double v = value == null ? fallback : value;
        if (!(v >= 0 && v < 1)) {
            throw new IllegalArgumentException(field + " must be in [0, 1), was " + v);
        }
        return v;
    }
}
