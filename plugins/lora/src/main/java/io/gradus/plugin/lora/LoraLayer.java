package io.gradus.plugin.lora;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Parameter;
import java.util.ArrayList;
import java.util.List;

/**
 * A linear module with a low-rank update (Hu et al. 2021, arXiv 2106.09685):
 * <pre>
 *   y = base(x) + s · B·(A·x)        A: [r, in], B: [out, r], s = α/r (or α/√r)
 * </pre>
 * Backward, with h = A·x (recomputed, it is only r wide):
 * <pre>
 *   dB += s · dyᵀ·h      dh = s · dy·B      dA += dhᵀ·x      dx += dh·A  (+ the base's dx)
 * </pre>
 * A starts Kaiming-uniform and B at zero, so training starts exactly from the base model.
 */
public final class LoraLayer implements Linear {

    private final Linear base;
    private final Parameter a;
    private final Parameter b;
    private final float scaling;
    private boolean merged;

    LoraLayer(Linear base, Parameter a, Parameter b, double scaling) {
        this.base = base;
        this.a = a;
        this.b = b;
        this.scaling = (float) scaling;
    }

    int rank() {
        return a.shape()[0];
    }

    Parameter loraA() {
        return a;
    }

    Parameter loraB() {
        return b;
    }

    Linear base() {
        return base;
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
        base.forward(x, y, rows, kernels);
        if (merged) {
            return;
        }
        float[] h = new float[rows * rank()];
        kernels.matmul(ABT, h, x, a.values(), rows, rank(), inFeatures(), false);
        kernels.scale(h, scaling, h.length);
        kernels.matmul(ABT, y, h, b.values(), rows, outFeatures(), rank(), true);
    }

    @Override
    public void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels) {
        if (merged) {
            throw new IllegalStateException("a merged LoRA layer cannot train; unmerge it first");
        }
        base.backward(x, dy, dx, rows, kernels);
        int r = rank();
        float[] h = new float[rows * r];
        kernels.matmul(ABT, h, x, a.values(), rows, r, inFeatures(), false);
        kernels.scale(h, scaling, h.length);
        if (b.trainable()) {
            kernels.matmul(ATB, b.gradient(), dy, h, outFeatures(), r, rows, true);
        }
        float[] dh = new float[rows * r];
        kernels.matmul(AB, dh, dy, b.values(), rows, r, outFeatures(), false);
        kernels.scale(dh, scaling, dh.length);
        if (a.trainable()) {
            kernels.matmul(ATB, a.gradient(), dh, x, r, inFeatures(), rows, true);
        }
        kernels.matmul(AB, dx, dh, a.values(), rows, inFeatures(), r, true);
    }

    /**
     * Folds s·B·A into the base weight, so inference costs nothing extra: W' = W + s·B·A. The base
     * must be a plain weight (a module with one [out, in] parameter).
     */
    void merge(KernelBackend kernels) {
        if (!merged) {
            addDelta(kernels, scaling);
            merged = true;
        }
    }

    /** Undoes {@link #merge}: W = W' − s·B·A. */
    void unmerge(KernelBackend kernels) {
        if (merged) {
            addDelta(kernels, -scaling);
            merged = false;
        }
    }

    boolean merged() {
        return merged;
    }

    private void addDelta(KernelBackend kernels, float factor) {
        List<Parameter> baseParameters = base.parameters();
        if (baseParameters.size() != 1) {
            throw new IllegalStateException("cannot merge into a base module with " + baseParameters.size() + " parameters");
        }
        float[] w = baseParameters.getFirst().values();
        float[] delta = new float[w.length];
        // delta[out, in] = B[out, r] · A[r, in]
        kernels.matmul(AB, delta, b.values(), a.values(), outFeatures(), inFeatures(), rank(), false);
        kernels.scale(delta, factor, delta.length);
        kernels.add(w, delta, w.length);
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(base.parameters());
        all.add(a);
        all.add(b);
        return all;
    }
}
