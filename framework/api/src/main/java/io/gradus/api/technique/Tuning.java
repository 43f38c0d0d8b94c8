package io.gradus.api.technique;

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

    /** Number of trainable scalars, for the "trainable / total" report. */
    default long trainableCount() {
        return trainableParameters().stream().mapToLong(Parameter::size).sum();
    }
}
