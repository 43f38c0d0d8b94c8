package io.gradus.api.model;

import io.gradus.api.kernel.KernelBackend;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A linear module of the model, {@code y = x·Wᵀ} for the plain case, over rows of activations.
 *
 * <p>Tuners change how a model computes by replacing its linear modules (PEFT's approach): LoRA
 * wraps one and adds a low-rank branch, NF4 stores the base weight quantised. The engine only calls
 * this interface, so any combination works without the engine knowing the technique.
 */
@ConsumerType
public interface Linear {

    /** Input width. */
    int inFeatures();

    /** Output width. */
    int outFeatures();

    /** {@code y[rows, out] = f(x[rows, in])}, overwriting y. */
    void forward(float[] x, float[] y, int rows, KernelBackend kernels);

    /**
     * Given the forward input {@code x} and the output gradient {@code dy}, adds the input gradient
     * into {@code dx} and the gradients of this module's trainable parameters into theirs.
     */
    void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels);

    /** The parameters this module owns, frozen or not (for a wrapper: its own and the wrapped one's). */
    List<Parameter> parameters();

    /**
     * The quantized weights this module computes with (for a wrapper: the wrapped one's), frozen by
     * nature; none for a dense module.
     */
    default List<QuantizedWeight> quantizedWeights() {
        return List.of();
    }
}
