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

    /** Number of decoder layers; 0 for a model without layers ({@link #of}). */
    int layerCount();

    /** Width C of the rows of activations between layers (and of inserted modules); 0 without layers. */
    int hiddenSize();

    /**
     * The modules inserted at {@code point} of decoder layer {@code layer}, in the order they run:
     * the order they were inserted in, each reading the previous one's output.
     *
     * @throws IndexOutOfBoundsException if the model has no such layer
     */
    List<InsertedModule> insertedModules(int layer, InsertionPoint point);

    /**
     * Inserts {@code module} at {@code point} of decoder layer {@code layer}, after the modules
     * already there; its parameters join {@link #parameters()}. Generation and training both run it.
     *
     * @throws IndexOutOfBoundsException if the model has no such layer
     * @throws IllegalArgumentException if the module's width is not the model's hidden size
     */
    void insert(int layer, InsertionPoint point, InsertedModule module);

    /**
     * A model that is just a list of parameters, without linear modules to replace or layers to
     * insert into: for tests and for techniques that only choose what trains.
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

            @Override
            public int layerCount() {
                return 0;
            }

            @Override
            public int hiddenSize() {
                return 0;
            }

            @Override
            public List<InsertedModule> insertedModules(int layer, InsertionPoint point) {
                throw new IndexOutOfBoundsException("this model has no layers; layer " + layer + " does not exist");
            }

            @Override
            public void insert(int layer, InsertionPoint point, InsertedModule module) {
                throw new IndexOutOfBoundsException("this model has no layers; nothing can be inserted at "
                        + point.id() + " of layer " + layer);
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

    /**
     * The output head of a sequence classifier (a reward model: transformers'
     * {@code LlamaForSequenceClassification}), or empty for a causal language model. Its weight is
     * one of {@link #parameters()}: a tuner decides whether it trains (PEFT trains it in full, as a
     * module to save).
     */
    default java.util.Optional<ScoreHead> scoreHead() {
        return java.util.Optional.empty();
    }

    /** Total number of scalars over all parameters, quantized weights included. */
    default long parameterCount() {
        return parameters().stream().mapToLong(Parameter::size).sum()
                + quantizedWeights().stream().mapToLong(QuantizedWeight::size).sum();
    }
}
