package io.gradus.api.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * A named tensor of the model, stored row-major in a flat {@code float[]}.
 *
 * <p>Only trainable parameters own a gradient buffer: freezing a parameter releases its gradient,
 * so frozen weights cost no gradient memory and never get optimizer state.
 */
public final class Parameter {

    private final String name;
    private final int[] shape;
    private final float[] values;
    private float[] gradient;

    /**
     * @param name the Hugging Face tensor name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
     * @param shape dimensions, outermost first; their product must equal {@code values.length}
     * @param values the data, used as is (not copied)
     */
    public Parameter(String name, int[] shape, float[] values) {
        this.name = Objects.requireNonNull(name, "name");
        this.shape = shape.clone();
        this.values = Objects.requireNonNull(values, "values");
        long size = 1;
        for (int dim : shape) {
            if (dim <= 0) {
                throw new IllegalArgumentException(
                        "parameter " + name + ": dimensions must be positive, got " + Arrays.toString(shape));
            }
            size *= dim;
        }
        if (size != values.length) {
            throw new IllegalArgumentException("parameter " + name + ": shape " + Arrays.toString(shape)
                    + " holds " + size + " values but " + values.length + " were given");
        }
    }

    public String name() {
        return name;
    }

    /** A copy of the dimensions, outermost first. */
    public int[] shape() {
        return shape.clone();
    }

    /** Number of scalars. */
    public int size() {
        return values.length;
    }

    /** The live values; writes change the model. */
    public float[] values() {
        return values;
    }

    public boolean trainable() {
        return gradient != null;
    }

    /**
     * Makes the parameter trainable (allocating a zeroed gradient) or frozen (dropping it). Calling it
     * with the current state keeps the existing gradient.
     */
    public void setTrainable(boolean trainable) {
        if (trainable && gradient == null) {
            gradient = new float[values.length];
        } else if (!trainable) {
            gradient = null;
        }
    }

    /**
     * The gradient buffer, accumulated into by backward passes.
     *
     * @throws IllegalStateException if the parameter is frozen
     */
    public float[] gradient() {
        if (gradient == null) {
            throw new IllegalStateException("parameter " + name + " is frozen and has no gradient");
        }
        return gradient;
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + (trainable() ? " trainable" : " frozen");
    }
}
