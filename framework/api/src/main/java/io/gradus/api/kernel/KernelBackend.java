package io.gradus.api.kernel;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Numerical kernels behind one contract, so the same training code runs on the CPU or a GPU.
 *
 * <p>Registered as an OSGi service with the property {@value #NAME_PROPERTY} ({@code cpu},
 * {@code tornado}). Every implementation is tested against the reference kernels.
 */
@ProviderType
public interface KernelBackend {

    /** The service property that names a backend. */
    String NAME_PROPERTY = "gradus.kernel.backend";

    /** Short name of this backend, e.g. {@code cpu}. */
    String name();

    /** One line on where the kernels run (device, threads), for logs and provenance. */
    String description();

    /**
     * Softmax cross-entropy over the rows of {@code logits}, fused with its gradient.
     *
     * <p>For each row r with {@code targets[r] >= 0}: p = softmax(logits[r]); the row's loss is
     * -log p[target], and {@code dLogits[r] = gradScale * (p - onehot(target))}. Rows whose target is
     * negative (ignored) take no loss and get a zero gradient.
     *
     * @param logits rows*vocab inputs
     * @param targets rows target ids, negative for ignored rows
     * @param dLogits rows*vocab output, overwritten (may be {@code null} to skip the gradient)
     * @param gradScale multiplies the gradient, e.g. 1/(counted rows) for a mean loss
     * @return the sum of the row losses over counted rows
     */
    double crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] dLogits, float gradScale);
}
