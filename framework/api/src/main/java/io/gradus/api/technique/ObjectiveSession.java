package io.gradus.api.technique;

import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * An objective at work in one job: what the trainer calls at every step, and the state that belongs
 * to the job (PPO's adaptive KL coefficient and rollouts, DPO's precomputed reference log-probs).
 * Every call gets the objective's configuration as it is at that step (steering may change live
 * settings).
 *
 * <p>One loop runs every objective. One optimizer step:
 * <pre>
 *   if collects(config) and what was collected is used up:
 *       collect(config, prompts, runner)          rollout phase (PPO)
 *   zero the gradients
 *   for each micro-batch (from the data, or nextCollected):
 *       step(config, batch, runner, 1/accumulation)
 *   clip, optimizer step
 * </pre>
 *
 * @param <C> the objective's configuration record
 */
@ConsumerType
@FunctionalInterface
public interface ObjectiveSession<C> {

    /**
     * Computes the loss of one micro-batch and accumulates gradients through the runner's backward
     * pass.
     *
     * @param gradScale factor applied to the loss gradient (1 / gradient-accumulation steps)
     */
    StepResult step(C config, TokenBatch batch, ModelRunner runner, float gradScale);

    /**
     * Once, before step 1 of a fresh run (not on resume, where {@link #restore} brings the state
     * back): DPO's precomputation of reference log-probs. {@code trainingData} walks every group
     * (or window) of the training data once, in batches as the steps get them.
     */
    default void prepare(C config, Iterable<TokenBatch> trainingData, ModelRunner runner) {}

    /**
     * Whether this objective alternates a rollout phase with its optimizer steps (PPO). The
     * trainer then calls {@link #collect} whenever what was collected is used up, and takes
     * micro-batches from {@link #nextCollected} instead of the job's data.
     */
    default boolean collects(C config) {
        return false;
    }

    /**
     * The rollout phase: collects, under no-grad, what the next optimizer steps train on
     * (generation, scoring, advantages), and keeps it.
     *
     * @param prompts batches of the job's data, as many as the session asks for
     * @return how many optimizer steps train on what was collected (PPO: numPpoEpochs ×
     *     numMiniBatches, at least 1), and the phase's metrics (TRL's {@code objective/...})
     */
    default Collected collect(C config, Supplier<TokenBatch> prompts, ModelRunner runner) {
        throw new TechniqueException("this objective does not collect rollouts");
    }

    /** The next micro-batch of what was collected (its rows, with whatever the session needs to find their data). */
    default TokenBatch nextCollected(C config) {
        throw new TechniqueException("this objective does not collect rollouts");
    }

    /**
     * Held-out evaluation at every checkpoint, on no-grad passes in inference mode: named metrics
     * for {@code eval.jsonl}. The default is the next-token loss over the labelled positions
     * ({@code loss}, and {@code targets}: how many positions it covered).
     *
     * @param heldOut the held-out data, batched as the training data is
     */
    default Map<String, Double> evaluate(C config, List<TokenBatch> heldOut, ModelRunner runner) {
        return NextTokenLoss.evaluate(heldOut, runner);
    }

    /**
     * The job's state of this objective, written into every checkpoint as JSON: strings, numbers,
     * booleans, lists and maps of those. Empty by default.
     */
    default Map<String, Object> state() {
        return Map.of();
    }

    /** Restores {@link #state()} from a checkpoint, after the session was started for the resumed job. */
    default void restore(Map<String, Object> state) {}

    /**
     * A few rows a person can read of what the objective does now (PPO: prompts, responses and
     * scores of its latest rollout), which the job appends to {@code samples.jsonl} at every
     * checkpoint with the step: strings, numbers, booleans, lists and maps of those. None by default.
     */
    default List<Map<String, Object>> samples() {
        return List.of();
    }

    /**
     * What a rollout phase collected.
     *
     * @param optimizerSteps optimizer steps that train on it, at least 1
     * @param metrics the phase's figures, reported with the first of those steps
     */
    record Collected(int optimizerSteps, Map<String, Double> metrics) {

        public Collected {
            if (optimizerSteps < 1) {
                throw new IllegalArgumentException("a collection must feed at least one optimizer step, got "
                        + optimizerSteps);
            }
            metrics = Map.copyOf(metrics);
        }
    }
}
