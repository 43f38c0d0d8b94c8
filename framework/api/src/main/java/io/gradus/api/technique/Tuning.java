package io.gradus.api.technique;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TensorFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/** The result of applying a {@link Tuner} to a model: what the optimizer updates. */
@ConsumerType
public interface Tuning {

    /** The parameters that train, each with a gradient buffer; the optimizer updates exactly these. */
    List<Parameter> trainableParameters();

    /**
     * Writes what this tuning trained into {@code dir}, in the layout its ecosystem reads (PEFT's
     * for adapters).
     *
     * @param baseModel the base model's folder or name, recorded for loaders
     * @return false when the tuner keeps nothing of its own and the whole model is the result (full
     *     fine-tuning): the trainer then saves the model
     */
    default boolean save(Path dir, TensorFiles files, String baseModel) throws IOException {
        return false;
    }

    /**
     * Folds the tuner's extra weights into the base weights, so inference runs at base-model cost
     * (LoRA: W += s·B·A).
     *
     * @return false if there is nothing to fold (the tuning changed the weights themselves)
     */
    default boolean merge(KernelBackend kernels) {
        return false;
    }

    /** Undoes {@link #merge}; false if there is nothing to undo. */
    default boolean unmerge(KernelBackend kernels) {
        return false;
    }

    /**
     * Switches between training and inference behaviour (dropout on or off). Tunings are created
     * in inference mode; the trainer switches them to training for its steps.
     */
    default void setTraining(boolean training) {}

    /**
     * Turns what this tuning added on or off, leaving the base model as it is: with several
     * adapters applied to one model, enabling one and disabling the others switches between them
     * without reloading the base.
     *
     * @return false if this tuning cannot be switched off (it changed the weights themselves)
     */
    default boolean setEnabled(boolean enabled) {
        return false;
    }

    /** Number of trainable scalars, for the "trainable / total" report. */
    default long trainableCount() {
        return trainableParameters().stream().mapToLong(Parameter::size).sum();
    }
}
