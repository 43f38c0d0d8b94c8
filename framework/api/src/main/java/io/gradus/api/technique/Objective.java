package io.gradus.api.technique;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
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
}
