package io.gradus.api.model;

import io.gradus.api.kernel.KernelBackend;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A module inserted at an {@link InsertionPoint} of a decoder layer: it maps rows of activations
 * {@code x [rows, C]} to {@code y [rows, C]}, with a forward and a backward pass (bottleneck
 * adapters, and any technique that changes a layer between its linear modules).
 *
 * <p>The engine keeps, for every layer and point, the point's input and the output of each module
 * there, and gives them back to the module's backward pass: a module never caches activations
 * itself. What else it needs from the forward pass in the backward pass (intermediate values) it
 * keeps in its workspace: work buffers the engine allocates, one per entry of
 * {@link #workspaceWidths()}, and keeps with its activations from the forward pass to the following
 * backward pass. A workspace buffer may be longer than {@code rows} times its width; only that
 * prefix is the module's.
 */
@ConsumerType
public interface InsertedModule {

    /** Width C of the rows it reads and writes: the model's hidden size. */
    int features();

    /** The widths (floats per row) of the work buffers this module needs; none by default. */
    default int[] workspaceWidths() {
        return new int[0];
    }

    /**
     * {@code y[rows, C] = f(x[rows, C])}, overwriting {@code y} (never the same array as {@code x}).
     *
     * @param workspace the work buffers of {@link #workspaceWidths()}, kept for the backward pass
     */
    void forward(float[] x, float[] y, float[][] workspace, int rows, KernelBackend kernels);

    /**
     * Given the forward pass's input {@code x}, output {@code y} and workspace (as that forward pass
     * left them) and the output gradient {@code dy}, adds the input gradient into {@code dx} and the
     * gradients of this module's trainable parameters into theirs. May overwrite its workspace.
     */
    void backward(float[] x, float[] y, float[][] workspace, float[] dy, float[] dx, int rows, KernelBackend kernels);

    /** The parameters this module owns, frozen or not. */
    List<Parameter> parameters();
}
