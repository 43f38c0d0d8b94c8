package io.gradus.core.llama;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Parameter;
import java.util.List;

/**
 * The plain linear module: y = x·Wᵀ with W stored [out, in]. Backward: dx += dy·W, and, when W
 * trains, dW += dyᵀ·x.
 */
public record DenseLinear(Parameter weight) implements Linear {

    public DenseLinear {
        if (weight.shape().length != 2) {
            throw new IllegalArgumentException(weight.name() + " is not a matrix");
        }
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
        kernels.matmul(ABT, y, x, weight.values(), rows, outFeatures(), inFeatures(), false);
    }

    @Override
    public void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels) {
        kernels.matmul(AB, dx, dy, weight.values(), rows, inFeatures(), outFeatures(), true);
        if (weight.trainable()) {
            kernels.matmul(ATB, weight.gradient(), dy, x, outFeatures(), inFeatures(), rows, true);
        }
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(weight);
    }
}
