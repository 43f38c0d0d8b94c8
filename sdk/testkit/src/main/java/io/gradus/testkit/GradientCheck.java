package io.gradus.testkit;

import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Checks analytic gradients against central finite differences of the loss:
 * ∂L/∂p ≈ (L(p + h) − L(p − h)) / 2h, whose error is O(h²) from the curvature plus O(ε/h) from float
 * rounding of the loss (ε ≈ 1e-7 relative), so h around 1e-3 to 1e-2 balances the two on the
 * tiny models of {@link TinyLlama}. An element passes when |numeric − analytic| ≤ absolute +
 * relative · |numeric|.
 *
 * <p>Use {@link #DEFAULT} and change what a test needs:
 * {@code GradientCheck.DEFAULT.withSamples(5).nextTokenLoss(tiny, batch, tuning.trainableParameters())}
 * returns the elements that differ, so a test asserts that the list is empty and a failure names
 * them.
 *
 * @param samples elements checked per parameter: every element when it has no more than this many,
 *     else this many drawn at random
 * @param seed draws the sampled elements
 * @param step h, the distance to each side of the current value
 * @param absolute the absolute tolerance
 * @param relative the tolerance relative to the numeric gradient
 */
public record GradientCheck(int samples, long seed, double step, double absolute, double relative) {

    /** Three elements per parameter, h = 3e-3, tolerance 2e-3 + 2%. */
    public static final GradientCheck DEFAULT = new GradientCheck(3, 1, 3e-3, 2e-3, 0.02);

    public GradientCheck {
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be at least 1, was " + samples);
        }
        if (!(step > 0) || absolute < 0 || relative < 0) {
            throw new IllegalArgumentException("step must be positive and the tolerances not negative");
        }
    }

    /**
     * A loss evaluated at the parameters' current values.
     */
    @FunctionalInterface
    public interface Loss {
        /**
         * @param backward whether to add the loss's gradient into the parameters' gradients too
         * @return the loss
         */
        double evaluate(boolean backward);
    }

    /**
     * One element whose gradients differ.
     *
     * @param parameter the parameter's name
     * @param index the element's index in its values
     * @param analytic the gradient the backward pass computed
     * @param numeric the central finite difference
     */
    public record Mismatch(String parameter, int index, double analytic, double numeric) {
        @Override
        public String toString() {
            return parameter + "[" + index + "]: analytic " + analytic + ", numeric " + numeric;
        }
    }

    public GradientCheck withSamples(int samples) {
        return new GradientCheck(samples, seed, step, absolute, relative);
    }

    public GradientCheck withSeed(long seed) {
        return new GradientCheck(samples, seed, step, absolute, relative);
    }

    public GradientCheck withStep(double step) {
        return new GradientCheck(samples, seed, step, absolute, relative);
    }

    public GradientCheck withTolerance(double absolute, double relative) {
        return new GradientCheck(samples, seed, step, absolute, relative);
    }

    /**
     * Checks the gradients of {@code parameters} (trainable ones) under {@code loss}: one evaluation
     * with the backward pass gives the analytic gradients, two more per checked element the numeric
     * ones. The parameters' values are restored, and their gradient buffers hold the analytic
     * gradients afterwards.
     *
     * @return the elements that differ beyond the tolerance, in parameter order
     */
    public List<Mismatch> check(List<Parameter> parameters, Loss loss) {
        for (Parameter p : parameters) {
            Arrays.fill(p.gradient(), 0f);
        }
        loss.evaluate(true);
        List<float[]> analytic = parameters.stream().map(p -> p.gradient().clone()).toList();
        Random random = new Random(seed);
        List<Mismatch> mismatches = new ArrayList<>();
        for (int n = 0; n < parameters.size(); n++) {
            Parameter p = parameters.get(n);
            float[] values = p.values();
            boolean every = p.size() <= samples;
            for (int s = 0; s < (every ? p.size() : samples); s++) {
                int i = every ? s : random.nextInt(p.size());
                float saved = values[i];
                values[i] = (float) (saved + step);
                double up = loss.evaluate(false);
                values[i] = (float) (saved - step);
                double down = loss.evaluate(false);
                values[i] = saved;
                double numeric = (up - down) / (2 * step);
                double expected = analytic.get(n)[i];
                if (!(Math.abs(numeric - expected) <= absolute + relative * Math.abs(numeric))) {
                    mismatches.add(new Mismatch(p.name(), i, expected, numeric));
                }
            }
        }
        for (int n = 0; n < parameters.size(); n++) {
            System.arraycopy(analytic.get(n), 0, parameters.get(n).gradient(), 0, analytic.get(n).length);
        }
        return mismatches;
    }

    /**
     * Checks the gradients of the mean next-token cross-entropy of {@code batch} (the pre-training
     * loss, {@link NextTokenLoss}) through {@code runner}: what a tuner's new parameters and modules
     * must get right.
     */
    public List<Mismatch> nextTokenLoss(ModelRunner runner, TokenBatch batch, List<Parameter> parameters) {
        return check(parameters, backward -> backward
                ? NextTokenLoss.step(batch, runner, 1f).loss()
                : lossOnly(runner, batch));
    }

    /**
     * Checks the gradients an objective back-propagates against finite differences of the loss it
     * reports: {@code objective.step(config, batch, runner, 1)} for every evaluation.
     */
    public <C> List<Mismatch> objective(Objective<C> objective, C config, TokenBatch batch, ModelRunner runner,
            List<Parameter> parameters) {
        return check(parameters, backward -> objective.step(config, batch, runner, 1f).loss());
    }

    private static double lossOnly(ModelRunner runner, TokenBatch batch) {
        float[] logits = runner.forward(batch);
        int labelled = batch.countLabels();
        return runner.kernels().crossEntropy(logits, batch.batchSize() * batch.seqLen(), runner.vocabSize(),
                batch.labels(), null, 1f / labelled) / labelled;
    }
}
