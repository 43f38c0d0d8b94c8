package io.gradus.plugin.adapters;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.Activation;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.InsertedModule;
import io.gradus.api.model.Parameter;
import java.util.Arrays;
import java.util.List;

/**
 * A bottleneck adapter (Houlsby et al. 2019, arXiv 1902.00751) with the residual connection inside
 * it, as the AdapterHub {@code adapters} library computes it, over rows u [N, C]:
 * <pre>
 *   z = u·W_downᵀ + b_down      [N, b]      W_down [b, C], b_down [b]
 *   a = act(z)                  [N, b]
 *   y = u + s · drop(a·W_upᵀ + b_up)         W_up [C, b], b_up [C]
 * </pre>
 * Backward, with g = s · drop(dy) (dropout's mask and 1/(1−p) again):
 * <pre>
 *   dW_up += gᵀ·a    db_up += Σ_rows g    da = g·W_up    dz = da ⊙ act'(z)
 *   dW_down += dzᵀ·u    db_down += Σ_rows dz    du += dz·W_down + dy
 * </pre>
 * z and a are kept in the engine's workspace from the forward to the backward pass. A bias is the
 * rank-1 product 1·bᵀ added by the matmul kernel, its gradient 1ᵀ·g, so biases need no kernel of
 * their own. In training with dropout, the mask's seed comes from u (its sum of squares) and the
 * module's name, as in LoRA: the backward pass, given the same u, draws the same mask.
 */
public final class AdapterLayer implements InsertedModule {

    /** Workspace buffers: z, a = act(z), da (then dz), g [N, C], and a column of ones [N]. */
    private static final int Z = 0, A = 1, DA = 2, G = 3, ONES = 4;

    private final Parameter downWeight;
    private final Parameter downBias;
    private final Parameter upWeight;
    private final Parameter upBias;
    private final Activation activation;
    private final float scaling;
    private final float dropout;
    private final long nameHash;
    private final int[] workspaceWidths;
    private boolean training;
    private boolean enabled = true;

    /**
     * @param downWeight W_down [b, C]
     * @param downBias b_down [b]
     * @param upWeight W_up [C, b]
     * @param upBias b_up [C]
     */
    /** @param seed the job's seed, mixed into every dropout mask of this layer */
    AdapterLayer(Parameter downWeight, Parameter downBias, Parameter upWeight, Parameter upBias, Activation activation,
            double scaling, double dropout, String name, long seed) {
        this.downWeight = downWeight;
        this.downBias = downBias;
        this.upWeight = upWeight;
        this.upBias = upBias;
        this.activation = activation;
        this.scaling = (float) scaling;
        this.dropout = (float) dropout;
        this.nameHash = (name.hashCode() + seed) * 0x9E3779B97F4A7C15L;
        int b = bottleneck();
        this.workspaceWidths = new int[] {b, b, b, features(), 1};
    }

    /** The bottleneck width b. */
    int bottleneck() {
        return downWeight.shape()[0];
    }

    Parameter downWeight() {
        return downWeight;
    }

    Parameter downBias() {
        return downBias;
    }

    Parameter upWeight() {
        return upWeight;
    }

    Parameter upBias() {
        return upBias;
    }

    void setTraining(boolean training) {
        this.training = training;
    }

    /** Off, the adapter passes its input through unchanged (several adapters on one base switch so). */
    void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    @Override
    public int features() {
        return downWeight.shape()[1];
    }

    @Override
    public int[] workspaceWidths() {
        return workspaceWidths.clone();
    }

    private boolean dropping() {
        return training && dropout > 0f;
    }

    private long maskSeed(float[] u, int rows, KernelBackend kernels) {
        return Double.doubleToLongBits(kernels.sumOfSquares(u, rows * features())) ^ nameHash;
    }

    @Override
    public void forward(float[] u, float[] y, float[][] workspace, int rows, KernelBackend kernels) {
        int c = features();
        int b = bottleneck();
        int n = rows * c;
        if (!enabled) {
            System.arraycopy(u, 0, y, 0, n);
            return;
        }
        float[] ones = workspace[ONES];
        Arrays.fill(ones, 0, rows, 1f);
        float[] z = workspace[Z];
        kernels.matmul(ABT, z, u, downWeight.values(), rows, b, c, false);
        kernels.matmul(AB, z, ones, downBias.values(), rows, b, 1, true);
        float[] a = workspace[A];
        kernels.activationForward(activation, a, z, rows * b);
        // The bottleneck's output goes to y directly, or through g when dropout needs a source.
        float[] up = dropping() ? workspace[G] : y;
        kernels.matmul(ABT, up, a, upWeight.values(), rows, c, b, false);
        kernels.matmul(AB, up, ones, upBias.values(), rows, c, 1, true);
        if (scaling != 1f) {
            kernels.scale(up, scaling, n);
        }
        if (dropping()) {
            kernels.dropout(y, up, n, dropout, maskSeed(u, rows, kernels));
        }
        kernels.add(y, u, n);
    }

    @Override
    public void backward(float[] u, float[] y, float[][] workspace, float[] dy, float[] du, int rows,
            KernelBackend kernels) {
        int c = features();
        int b = bottleneck();
        int n = rows * c;
        kernels.add(du, dy, n); // the residual inside the adapter
        if (!enabled) {
            return;
        }
        float[] ones = workspace[ONES];
        float[] z = workspace[Z];
        float[] a = workspace[A];
        // g = s · drop(dy): the gradient at the bottleneck's output.
        float[] g = dy;
        if (dropping() || scaling != 1f) {
            g = workspace[G];
            if (dropping()) {
                kernels.dropout(g, dy, n, dropout, maskSeed(u, rows, kernels));
            } else {
                System.arraycopy(dy, 0, g, 0, n);
            }
            if (scaling != 1f) {
                kernels.scale(g, scaling, n);
            }
        }
        if (upWeight.trainable()) {
            kernels.matmul(ATB, upWeight.gradient(), g, a, c, b, rows, true);
        }
        if (upBias.trainable()) {
            kernels.matmul(ATB, upBias.gradient(), ones, g, 1, c, rows, true);
        }
        float[] da = workspace[DA];
        kernels.matmul(AB, da, g, upWeight.values(), rows, b, c, false);
        float[] dz = a; // a is not needed any more: its buffer takes dz
        kernels.activationBackward(activation, dz, da, z, rows * b);
        if (downWeight.trainable()) {
            kernels.matmul(ATB, downWeight.gradient(), dz, u, b, c, rows, true);
        }
        if (downBias.trainable()) {
            kernels.matmul(ATB, downBias.gradient(), ones, dz, 1, b, rows, true);
        }
        kernels.matmul(AB, du, dz, downWeight.values(), rows, c, b, true);
    }

    /** W_down, b_down, W_up, b_up: the library's order. */
    @Override
    public List<Parameter> parameters() {
        return List.of(downWeight, downBias, upWeight, upBias);
    }
}
