package io.gradus.plugin.lora.internal;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.api.model.QuantizedWeight;
import java.util.List;

/**
 * A quantized base module under LoRA (QLoRA). Unmerged it computes through the fused NF4 kernels
 * and no float copy of its weight exists. Merging cannot add s·B·A into 4-bit codes without
 * re-quantizing (which PEFT does, making merge and unmerge lossy); instead the first merge
 * materializes W' = dequant(W) + s·B·A as a float weight, which the module computes with, lists as
 * its parameter and saves, while it stays merged; when the last adapter is unmerged the float copy
 * is dropped and the module computes from the untouched NF4 weight again, exactly as before.
 */
final class QuantizedBase implements Linear, MergeTarget {

    private final QuantizedLinear quantized;
    /** The merged float weight, or null while no adapter is merged. */
    private Parameter merged;
    private int mergedAdapters;

    QuantizedBase(QuantizedLinear quantized) {
        this.quantized = quantized;
    }

    @Override
    public void merge(float[] delta, KernelBackend kernels) {
        if (merged == null) {
            QuantizedWeight w = quantized.weight();
            merged = new Parameter(w.name(), w.shape(), new float[w.size()]);
            w.data().dequantize(kernels, merged.values());
        }
        kernels.add(merged.values(), delta, delta.length);
        mergedAdapters++;
    }

    @Override
    public void unmerge(float[] delta, KernelBackend kernels) {
        if (--mergedAdapters == 0) {
            merged = null;
        } else {
            kernels.add(merged.values(), delta, delta.length);
        }
    }

    @Override
    public int inFeatures() {
        return quantized.inFeatures();
    }

    @Override
    public int outFeatures() {
        return quantized.outFeatures();
    }

    @Override
    public void forward(float[] x, float[] y, int rows, KernelBackend kernels) {
        if (merged == null) {
            quantized.forward(x, y, rows, kernels);
        } else {
            kernels.matmul(ABT, y, x, merged.values(), rows, outFeatures(), inFeatures(), false);
        }
    }

    @Override
    public void backward(float[] x, float[] dy, float[] dx, int rows, KernelBackend kernels) {
        if (merged == null) {
            quantized.backward(x, dy, dx, rows, kernels);
        } else {
            kernels.matmul(AB, dx, dy, merged.values(), rows, inFeatures(), outFeatures(), true);
        }
    }

    /** The merged float weight while merged; none otherwise. */
    @Override
    public List<Parameter> parameters() {
        return merged == null ? List.of() : List.of(merged);
    }

    /** The NF4 weight while unmerged; none while a float copy stands in for it. */
    @Override
    public List<QuantizedWeight> quantizedWeights() {
        return merged == null ? quantized.quantizedWeights() : List.of();
    }
}
