package io.gradus.api.model;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.kernel.MatmulLayout;
import java.util.List;

/**
 * A frozen linear module whose weight W [out, in] is quantized (QLoRA's NF4 base): y = x·Wᵀ, and in
 * the backward pass only the input gradient dx += dy·W. Both products run through the fused NF4
 * kernels, so W never exists in float form. It trains nothing; LoRA wraps it to train.
 *
 * @param weight the quantized weight, shape [out, in]
 */
public record QuantizedLinear(QuantizedWeight weight) implements Linear {

    public QuantizedLinear {
        if (weight.shape().length != 2) {
            throw new IllegalArgumentException(weight.name() + " is not a matrix");
        }
    }

    /** Quantizes a dense weight [out, in] into NF4 (see {@link QuantizedWeight#nf4}). */
    public static QuantizedLinear nf4(Parameter weight, int blockSize, boolean doubleQuant) {
        return new QuantizedLinear(QuantizedWeight.nf4(weight, blockSize, doubleQuant));
    }

    @Override
    public int inFeatures() {
        return weight.shape()[1];
    }

    @Override
    public int outFeatures() {
        return weight.shape()[0];
    }

    @Override
    public void forward(float[] x, float[] y, int rows, KernelBackend kernels) {
        weight.data().matmul(kernels, MatmulLayout.ABT, y, x, rows, outFeatures(), inFeatures(), false);
    }

    @Override
    public void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels) {
        weight.data().matmul(kernels, MatmulLayout.AB, dx, dy, rows, inFeatures(), outFeatures(), true);
    }

    /** None: the weight is not a float parameter (see {@link #quantizedWeights()}). */
    @Override
    public List<Parameter> parameters() {
        return List.of();
    }

    @Override
    public List<QuantizedWeight> quantizedWeights() {
        return List.of(weight);
    }
}
