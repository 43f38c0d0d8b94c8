package io.gradus.api.technique;

import io.gradus.api.model.Model;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A tuner decides how a model is changed by training: which parameters are trainable and which
 * modules are replaced or wrapped (LoRA, adapters, NF4). It is applied once, before training.
 *
 * @param <C> the configuration record of this tuner
 */
@ConsumerType
public interface Tuner<C> extends Technique<C> {

    /**
     * Prepares {@code model} for training under this tuner: freezes what must not change, adds and
     * initialises new parameters, and marks the trainable ones (allocating their gradients).
     *
     * @throws TechniqueException when the model does not fit the configuration (for example a
     *     target module that the model does not have), with a message naming what is wrong
     */
    Tuning apply(Model model, C config);
}
