package io.gradus.plugin.lora.internal;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.api.model.QuantizedWeight;
import java.util.ArrayList;
import java.util.List;

/**
 * A linear module with a low-rank update (Hu et al. 2021, arXiv 2106.09685) on a dense or a
 * quantized (QLoRA, Dettmers et al. 2023) base:
 * <pre>
 *   y = base(x) + s · B·(A·x)        A: [r, in], B: [out, r], s = α/r (or α/√r)
 * </pre>
 * Backward, with h = s·A·x kept from the forward pass (recomputed only when the backward pass gets
 * another input than the last forward pass had):
 * <pre>
 *   dB += s · dyᵀ·h      dh = s · dy·B      dA += dhᵀ·x      dx += dh·A  (+ the base's dx)
 * </pre>
 * A starts Kaiming-uniform and B at zero, so training starts exactly from the base model. In
 * training, dropout applies to the branch's input x (PEFT's lora_dropout).
 */
public final class LoraLayer implements Linear {

    private final Linear base;
    private final MergeTarget target;
    private final Parameter a;
    private final Parameter b;
    private final float scaling;
    private final float dropout;
    private final long nameHash;
    private boolean merged;
    private boolean training;
    private boolean enabled = true;

    /**
     * Work buffers of the last call's size (h, dh, the dropped-out input and its gradient), reused
     * call after call: no allocation per step, and a device backend sees the same arrays again. A
     * layer serves one engine call at a time, as a model does.
     */
    private final float[][] buffers = new float[4][];
    private static final int H = 0, DH = 1, DROPPED = 2, D_INPUT = 3;

    /**
     * The input whose s·A·x the H buffer holds (and, with dropout, whose dropped-out copy the
     * DROPPED buffer holds), its rows and dropout mask seed; null when none does. The backward pass
     * gets the very array its forward pass got (the engine keeps each layer's activations until
     * then), so the same array with the same rows means the same h, bit for bit: the backward pass
     * skips the down-projection, one of the branch's seven narrow products. Any forward pass
     * replaces it, and a switch of training or of the adapter clears it.
     */
    private float[] keptInput;
    private int keptRows;
    private long keptSeed;

    /** @param seed the job's seed, mixed into every dropout mask of this layer */
    private LoraLayer(Linear base, MergeTarget target, Parameter a, Parameter b, double scaling, double dropout,
            String name, long seed) {
        this.base = base;
        this.target = target;
        this.a = a;
        this.b = b;
        this.scaling = (float) scaling;
        this.dropout = (float) dropout;
        this.nameHash = (name.hashCode() + seed) * 0x9E3779B97F4A7C15L;
    }

    /**
     * LoRA on {@code base}, with the merge that fits the kind of base (PEFT's dispatch): a quantized
     * base is computed through a {@link QuantizedBase}, which merges by materializing a float
     * weight; a dense base takes merges in place; another adapter's layer passes merges on to the
     * base underneath it.
     */
    static LoraLayer on(Linear base, Parameter a, Parameter b, double scaling, double dropout, String name, long seed) {
        return switch (base) {
            case LoraLayer inner -> new LoraLayer(inner, inner.target, a, b, scaling, dropout, name, seed);
            case QuantizedLinear quantized -> {
                QuantizedBase wrapped = new QuantizedBase(quantized);
                yield new LoraLayer(wrapped, wrapped, a, b, scaling, dropout, name, seed);
            }
            default -> new LoraLayer(base, new DenseWeight(base), a, b, scaling, dropout, name, seed);
        };
    }

    void setTraining(boolean training) {
        this.training = training;
        keptInput = null;
    }

    /**
     * Turns the low-rank branch on or off. Several adapters on one model are nested layers, one
     * per adapter; enabling one and disabling the others switches adapters without touching the
     * base weights.
     */
    void setEnabled(boolean enabled) {
        if (merged && !enabled) {
            throw new IllegalStateException("a merged adapter cannot be disabled; unmerge it first");
        }
        this.enabled = enabled;
        keptInput = null;
    }

    /**
     * The LoRA branch's input: x itself, or in training with dropout, x with inverted dropout.
     * The mask's seed is derived from x (its sum of squares) and the module name, so the backward
     * pass, which gets the same x, recomputes the same mask, and a resumed run draws the same
     * masks as the uninterrupted one: there is no generator state to save.
     */
    private float[] branchInput(float[] x, int rows, KernelBackend kernels) {
        if (!dropsOut()) {
            return x;
        }
        float[] dropped = buffer(DROPPED, rows * inFeatures());
        keptSeed = maskSeed(x, rows, kernels);
        kernels.dropout(dropped, x, dropped.length, dropout, keptSeed);
        return dropped;
    }

    private boolean dropsOut() {
        return training && dropout != 0f;
    }

    /** The work buffer {@code slot}, of exactly {@code size} floats; its old contents are to be overwritten. */
    private float[] buffer(int slot, int size) {
        float[] buffer = buffers[slot];
        if (buffer == null || buffer.length != size) {
            buffer = new float[size];
            buffers[slot] = buffer;
        }
        return buffer;
    }

    private long maskSeed(float[] x, int rows, KernelBackend kernels) {
        return Double.doubleToLongBits(kernels.sumOfSquares(x, rows * inFeatures())) ^ nameHash;
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
        keptInput = null;
        if (merged || !enabled) {
            return;
        }
        float[] h = downProjection(x, rows, kernels);
        kernels.matmul(ABT, y, h, b.values(), rows, outFeatures(), rank(), true);
        keptInput = x;
        keptRows = rows;
    }

    /** h = s·A·x' into the H buffer, x' the branch's input (x, or x dropped out), which it leaves in DROPPED. */
    private float[] downProjection(float[] x, int rows, KernelBackend kernels) {
        float[] input = branchInput(x, rows, kernels);
        float[] h = buffer(H, rows * rank());
        kernels.matmul(ABT, h, input, a.values(), rows, rank(), inFeatures(), false);
        kernels.scale(h, scaling, h.length);
        return h;
    }

    @Override
    public void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels) {
        if (merged) {
            throw new IllegalStateException("a merged LoRA layer cannot train; unmerge it first");
        }
        base.backward(x, dy, dx, rows, kernels);
        if (!enabled) {
            return;
        }
        int r = rank();
        float[] h = x == keptInput && rows == keptRows ? buffers[H] : downProjection(x, rows, kernels);
        float[] input = dropsOut() ? buffers[DROPPED] : x;
        if (b.trainable()) {
            kernels.matmul(ATB, b.gradient(), dy, h, outFeatures(), r, rows, true);
        }
        float[] dh = buffer(DH, rows * r);
        kernels.matmul(AB, dh, dy, b.values(), rows, r, outFeatures(), false);
        kernels.scale(dh, scaling, dh.length);
        if (a.trainable()) {
            kernels.matmul(ATB, a.gradient(), dh, input, r, inFeatures(), rows, true);
        }
        if (input == x) {
            kernels.matmul(AB, dx, dh, a.values(), rows, inFeatures(), r, true);
        } else {
            // Through the dropout: the same mask and 1/(1−p) scale apply to the gradient.
            float[] dInput = buffer(D_INPUT, rows * inFeatures());
            kernels.matmul(AB, dInput, dh, a.values(), rows, inFeatures(), r, false);
            kernels.dropout(dInput, dInput, dInput.length, dropout, keptSeed);
            kernels.add(dx, dInput, dInput.length);
        }
    }

    /**
     * Folds s·B·A into the base weight, so inference costs nothing extra: W' = W + s·B·A, in place
     * for a dense base, as a float copy for a quantized one (see {@link MergeTarget}).
     */
    void merge(KernelBackend kernels) {
        if (!merged && enabled) {
            target.merge(delta(kernels, scaling), kernels);
            merged = true;
        }
    }

    /** Undoes {@link #merge}: W = W' − s·B·A (a quantized base computes from its NF4 weight again). */
    void unmerge(KernelBackend kernels) {
        if (merged) {
            target.unmerge(delta(kernels, -scaling), kernels);
            merged = false;
        }
    }

    boolean merged() {
        return merged;
    }

    /** factor·B·A [out, in]. */
    private float[] delta(KernelBackend kernels, float factor) {
        float[] delta = new float[outFeatures() * inFeatures()];
        kernels.matmul(AB, delta, b.values(), a.values(), outFeatures(), inFeatures(), rank(), false);
        kernels.scale(delta, factor, delta.length);
        return delta;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(base.parameters());
        all.add(a);
        all.add(b);
        return all;
    }

    @Override
    public List<QuantizedWeight> quantizedWeights() {
        return base.quantizedWeights();
    }
}
