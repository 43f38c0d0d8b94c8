package io.gradus.api.technique;

import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import java.util.SequencedMap;
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

    /**
     * Like {@link #apply(Model, Object)}, drawing every random number (the initial values of new
     * parameters, dropout masks) from {@code seed}: the job's seed, so that two jobs that differ
     * only in their seed start from different adapters. Tuners that draw random numbers override
     * this; the default ignores the seed.
     */
    default Tuning apply(Model model, C config, long seed) {
        return apply(model, config);
    }

    /**
     * What the host does with each linear module while it loads the base model for this tuner,
     * before {@link #apply}: QLoRA quantizes there, so that the float model never exists in full
     * and a model that fits in memory only quantized can still be tuned. {@link #apply} must work
     * without it too (on a model loaded some other way). Default: modules stay as loaded.
     */
    default LinearTransform loadTransform(C config) {
        return LinearTransform.NONE;
    }

    /**
     * Applies this tuner with weights it saved earlier (see {@link Tuning#save}), e.g. a PEFT
     * adapter: like {@link #apply}, then the saved tensors replace the fresh ones.
     *
     * @param tensors the saved tensors by their names in the saved file
     * @throws TechniqueException if this tuner saves no weights of its own, or the tensors do not fit
     */
    default Tuning load(Model model, C config, SequencedMap<String, Parameter> tensors) {
        throw new TechniqueException(getClass().getSimpleName() + " keeps no weights of its own to load");
    }
}
