package io.gradus.api.model;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.SequencedMap;
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

    /**
     * The linear modules by their Hugging Face module name (e.g.
     * {@code model.layers.0.self_attn.q_proj}), in model order; the output head {@code lm_head} is
     * not among them.
     */
    SequencedMap<String, Linear> linears();

    /**
     * Replaces the linear module {@code name} (a tuner wrapping or swapping it); its parameters
     * join or leave {@link #parameters()} accordingly.
     *
     * @throws NoSuchElementException if the model has no such module
     * @throws IllegalArgumentException if the replacement's shape differs
     */
    void replaceLinear(String name, Linear replacement);

    /**
     * A model that is just a list of parameters, without linear modules to replace: for tests and
     * for techniques that only choose what trains.
     */
    static Model of(List<Parameter> parameters) {
        List<Parameter> fixed = List.copyOf(parameters);
        return new Model() {
            @Override
            public List<Parameter> parameters() {
                return fixed;
            }

            @Override
            public SequencedMap<String, Linear> linears() {
                return new java.util.LinkedHashMap<>();
            }

            @Override
            public void replaceLinear(String name, Linear replacement) {
                throw new NoSuchElementException("this model has no linear modules; " + name + " cannot be replaced");
            }
        };
    }

    /**
     * The quantized weights of the model's linear modules, in model order: frozen weights that are
     * not float {@link #parameters()} (a QLoRA base).
     */
    default List<QuantizedWeight> quantizedWeights() {
        return linears().values().stream().flatMap(l -> l.quantizedWeights().stream()).toList();
    }

    /** Total number of scalars over all parameters, quantized weights included. */
    default long parameterCount() {
        return parameters().stream().mapToLong(Parameter::size).sum()
                + quantizedWeights().stream().mapToLong(QuantizedWeight::size).sum();
    }
}
