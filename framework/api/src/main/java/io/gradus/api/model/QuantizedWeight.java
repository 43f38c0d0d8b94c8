package io.gradus.api.model;

import io.gradus.api.kernel.Nf4;
import io.gradus.api.kernel.Nf4DoubleQuant;
import io.gradus.api.kernel.Nf4Tensor;
import java.util.Arrays;
import java.util.Objects;

/**
 * A frozen weight stored quantized: the quantized counterpart of a {@link Parameter}, with no float
 * values and no gradient. It takes part in parameter counts and in saving (in bitsandbytes' layout)
 * like a parameter does, but only a {@link QuantizedLinear} computes with it, through the fused
 * kernels.
 *
 * @param name the Hugging Face tensor name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param shape dimensions, outermost first ([out, in] for a linear weight); their product is the
 *     tensor's element count
 * @param data the codes and scales, row-major over the shape
 */
public record QuantizedWeight(String name, int[] shape, Nf4Tensor data) {

    public QuantizedWeight {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(data, "data");
        shape = shape.clone();
        long size = 1;
        for (int dim : shape) {
            if (dim <= 0) {
                throw new IllegalArgumentException("quantized weight " + name + ": dimensions must be positive, got "
                        + Arrays.toString(shape));
            }
            size *= dim;
        }
        if (size != data.n()) {
            throw new IllegalArgumentException("quantized weight " + name + ": shape " + Arrays.toString(shape)
                    + " holds " + size + " values but the quantized data has " + data.n());
        }
    }

    /**
     * Quantizes {@code weight}'s values to NF4 ({@code blockSize} elements per scale), with double
     * quantization of the scales when {@code doubleQuant}, as bitsandbytes' {@code quantize_4bit}
     * does with {@code compress_statistics}.
     */
    public static QuantizedWeight nf4(Parameter weight, int blockSize, boolean doubleQuant) {
        Nf4 nf4 = Nf4.quantize(weight.values(), blockSize);
        return new QuantizedWeight(weight.name(), weight.shape(),
                doubleQuant ? Nf4DoubleQuant.compress(nf4) : nf4);
    }

    /** A copy of the dimensions, outermost first. */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public int size() {
        return data.n();
    }

    /** Resident bytes of the codes, the scales and their statistics. */
    public long bytes() {
        return Math.round(data.bytesPerElement() * data.n());
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof QuantizedWeight that && name.equals(that.name) && Arrays.equals(shape, that.shape)
                && data.equals(that.data);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + data.hashCode();
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + " " + data;
    }
}
