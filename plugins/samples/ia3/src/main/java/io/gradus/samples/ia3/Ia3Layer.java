package io.gradus.samples.ia3;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedWeight;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One IA³ module (Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper
 * than In-Context Learning", §3.3): a learned vector l rescales a frozen linear module, over rows of
 * activations (R rows, I inputs, O outputs, h = x·Wᵀ the base module's output):
 * <pre>
 *   attention (k_proj, v_proj): y = h ⊙ l,  l [O, 1]      dl_j = Σ_r dy_rj · h_rj     dh = dy ⊙ l
 *   feedforward (down_proj):    y = (x ⊙ l)·Wᵀ, l [1, I]   dl_i = Σ_r dxs_ri · x_ri    dx += dxs ⊙ l
 * </pre>
 * where dxs is the base module's input gradient at its input x ⊙ l. l starts at ones, so an
 * untrained IA³ model computes exactly the base model.
 *
 * <p>The products go through the base module (and so through the kernels); the scaling by l is
 * O(R·O) or O(R·I), a plain loop here: the published kernel interface has no row-broadcast product,
 * and these loops cost a fraction of one matrix product of the base module. The backward pass of
 * the attention form recomputes h with one more product instead of keeping it from the forward pass,
 * so the layer holds no state between passes.
 */
final class Ia3Layer implements Linear {

    private final Linear base;
    private final Parameter scale;
    private final boolean feedforward;
    private float[] work = new float[0];

    /**
     * @param module the Hugging Face module name; the vector is {@code <module>.ia3_l}
     * @param feedforward whether l scales the input (true) or the output (false)
     */
    Ia3Layer(String module, Linear base, boolean feedforward) {
        this.base = base;
        this.feedforward = feedforward;
        int size = feedforward ? base.inFeatures() : base.outFeatures();
        float[] ones = new float[size];
        Arrays.fill(ones, 1f);
        // PEFT's shapes: (1, in_features) for a feedforward module, (out_features, 1) otherwise.
        this.scale = new Parameter(module + ".ia3_l", feedforward ? new int[] {1, size} : new int[] {size, 1}, ones);
        scale.setTrainable(true);
    }

    /** The learned vector l. */
    Parameter scale() {
        return scale;
    }

    boolean feedforward() {
        return feedforward;
    }

    @Override
    public int inFeatures() {
        return base.inFeatures();
    }

    @Override
    public int outFeatures() {
        return base.outFeatures();
    }

    @Override
    public void forward(float[] x, float[] y, int rows, KernelBackend kernels) {
        float[] l = scale.values();
        if (feedforward) {
            float[] scaled = work(rows * inFeatures());
            scaleColumns(x, l, scaled, rows);
            base.forward(scaled, y, rows, kernels);
        } else {
            base.forward(x, y, rows, kernels);
            scaleColumns(y, l, y, rows);
        }
    }

    @Override
    public void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels) {
        float[] l = scale.values();
        float[] dl = scale.trainable() ? scale.gradient() : null;
        if (feedforward) {
            int in = inFeatures();
            float[] scaled = new float[rows * in];
            scaleColumns(x, l, scaled, rows);
            float[] dScaled = new float[rows * in];
            base.backward(scaled, dy, dScaled, rows, kernels);
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < in; i++) {
                    int at = r * in + i;
                    if (dl != null) {
                        dl[i] += dScaled[at] * x[at];
                    }
                    dx[at] += dScaled[at] * l[i];
                }
            }
        } else {
            int out = outFeatures();
            float[] h = work(rows * out);
            base.forward(x, h, rows, kernels);
            float[] dh = new float[rows * out];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < out; j++) {
                    int at = r * out + j;
                    if (dl != null) {
                        dl[j] += dy[at] * h[at];
                    }
                    dh[at] = dy[at] * l[j];
                }
            }
            base.backward(x, dh, dx, rows, kernels);
        }
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(base.parameters());
        all.add(scale);
        return all;
    }

    @Override
    public List<QuantizedWeight> quantizedWeights() {
        return base.quantizedWeights();
    }

    /** {@code out[r, c] = in[r, c] · l[c]} over {@code rows} rows of l.length columns; out may be in. */
    private static void scaleColumns(float[] in, float[] l, float[] out, int rows) {
        int width = l.length;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < width; c++) {
                out[r * width + c] = in[r * width + c] * l[c];
            }
        }
    }

    private float[] work(int size) {
        if (work.length < size) {
            work = new float[size];
        }
        return work;
    }
}
