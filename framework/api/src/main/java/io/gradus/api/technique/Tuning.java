package io.gradus.api.technique;

import io.gradus.api.model.Parameter;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/** The result of applying a {@link Tuner} to a model: what the optimizer updates. */
@ConsumerType
public interface Tuning {

    /** The parameters that train, each with a gradient buffer; the optimizer updates exactly these. */
    List<Parameter> trainableParameters();

    /** Number of trainable scalars, for the "trainable / total" report. */
    default long trainableCount() {
        return trainableParameters().stream().mapToLong(Parameter::size).sum();
    }
}
