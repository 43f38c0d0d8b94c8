package io.gradus.api.technique;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.OutputHead;
import io.gradus.api.model.TokenBatch;
import java.util.Map;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * An objective defines what is optimised in one training step.
 *
 * <p>It drives the model through {@link ModelRunner}: it runs the forward passes it needs (one for
 * next-token objectives; policy and reference for DPO; rollouts for PPO), computes the loss and the
 * gradient of the loss with respect to the model outputs, and hands that gradient back for the
 * backward pass. The trainer then steps the optimizer. This keeps multi-pass objectives possible
 * without changing the trainer.
 *
 * <p>An objective is a shared service. What belongs to one job (PPO's KL controller and rollouts,
 * DPO's reference) lives in the {@link ObjectiveSession} it starts for the job; the stateless
 * methods here are all that pre-training and SFT need.
 *
 * @param <C> the configuration record of this objective
 */
@ConsumerType
public interface Objective<C> extends Technique<C> {

    /**
     * Computes the loss of one batch and accumulates parameter gradients through
     * {@link ModelRunner#backward(float[])}.
     *
     * @param gradScale factor applied to the loss gradient (1 / gradient-accumulation steps)
     */
    StepResult step(C config, TokenBatch batch, ModelRunner runner, float gradScale);

    /**
     * Turns one record of the job's JSONL data (a parsed JSON object) into an example.
     *
     * @throws IllegalArgumentException when the record lacks what this objective reads, with a message
     *     naming the field; the trainer adds the file and line
     */
    Example encode(C config, Map<String, Object> record, TextTokenizer tokenizer);

    /** How this objective's records are batched: {@link Batching#TEXT} unless it says otherwise. */
    default Batching batching(C config) {
        return Batching.TEXT;
    }

    /**
     * For {@link Batching#GROUPS}: turns one record into the sequences that go through the model
     * together (a preference pair).
     *
     * @throws IllegalArgumentException naming the field that is missing or wrong; the trainer adds the
     *     file and line
     */
    default SequenceGroup encodeGroup(C config, Map<String, Object> record, TextTokenizer tokenizer) {
        throw new TechniqueException(getClass().getSimpleName() + " batches text, not groups of sequences");
    }

    /**
     * The output head the model must have: next-token logits (default), or one score per sequence
     * (a reward model: the host then loads a {@code LlamaForSequenceClassification} folder as it is,
     * or gives a causal language model a fresh score head).
     */
    default OutputHead outputHead(C config) {
        return OutputHead.LANGUAGE_MODELLING;
    }

    /**
     * Starts this objective for one job, before its first step (and again when it resumes, before
     * its state is restored). The default session keeps nothing and calls {@link #step}; objectives
     * with per-job state (a KL controller, rollouts, a reference) return their own.
     *
     * @throws TechniqueException when the job cannot run with this objective (a frozen model it names
     *     does not load, a head that would not train), with the reason
     */
    default ObjectiveSession<C> session(C config, SessionContext context) {
        return (cfg, batch, runner, gradScale) -> step(cfg, batch, runner, gradScale);
    }
}
