package io.gradus.plugin.lora.internal;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Parameter;

/**
 * A dense base module's weight, which merging updates in place: W' = W + s·B·A, and back. Its
 * weight is the module's first parameter (below any other adapter's factors), of shape [out, in].
 */
record DenseWeight(Linear base) implements MergeTarget {

    @Override
    public void merge(float[] delta, KernelBackend kernels) {
        float[] w = weight().values();
        kernels.add(w, delta, w.length);
    }

    @Override
    public void unmerge(float[] delta, KernelBackend kernels) {
        merge(delta, kernels);
    }

    private Parameter weight() {
        Parameter weight = base.parameters().getFirst();
        if (weight.shape().length != 2 || weight.shape()[0] != base.outFeatures() || weight.shape()[1] != base.inFeatures()) {
            throw new IllegalStateException("cannot merge into " + weight.name() + ": it is not the module's weight");
        }
        return weight;
    }
}
