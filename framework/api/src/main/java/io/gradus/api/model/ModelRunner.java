package io.gradus.api.model;

import io.gradus.api.kernel.KernelBackend;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Runs the model being trained on behalf of an objective. Provided by the trainer.
 *
 * <p>Calls pair up: each {@link #forward(TokenBatch)} caches activations, and the following
 * {@link #backward(float[])} consumes them and accumulates into the gradients of the trainable
 * parameters.
 */
@ProviderType
public interface ModelRunner {

    /** Vocabulary size V: the width of a row of logits. */
    int vocabSize();

    /** Runs the model and returns logits, B*T*V floats, row-major (position-major, then vocab). */
    float[] forward(TokenBatch batch);

    /**
     * Back-propagates {@code dLogits} (same layout as the logits of the last forward pass) and adds
     * the result into the trainable parameters' gradients.
     */
    void backward(float[] dLogits);

    /** The kernels of this run; objectives compute their losses with them. */
    KernelBackend kernels();
}
