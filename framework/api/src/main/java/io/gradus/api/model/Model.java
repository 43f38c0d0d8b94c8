package io.gradus.api.model;

import java.util.List;
import java.util.NoSuchElementException;
import org.osgi.annotation.versioning.ProviderType;

/** A model's parameters, in a stable order, addressable by their Hugging Face tensor names. */
@ProviderType
public interface Model {

    /** All parameters, in the order they are stored. */
    List<Parameter> parameters();

    /**
     * The parameter called {@code name}.
     *
     * @throws NoSuchElementException naming the missing parameter
     */
    default Parameter parameter(String name) {
        for (Parameter p : parameters()) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        throw new NoSuchElementException("the model has no parameter named " + name);
    }

    /** Total number of scalars over all parameters. */
    default long parameterCount() {
        return parameters().stream().mapToLong(Parameter::size).sum();
    }
}
