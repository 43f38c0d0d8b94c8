package io.gradus.plugin.lora.internal;

import io.gradus.api.kernel.KernelBackend;

/**
 * The weight W [out, in] that a LoRA update s·B·A merges into, chosen by the kind of the adapted
 * base module (PEFT's {@code dispatch_bnb_4bit}, as a type rather than a branch): a dense weight
 * takes the update in place ({@link DenseWeight}); a quantized one cannot without re-quantizing, so
 * it computes from a float copy while merged ({@link QuantizedBase}). Adapters nested on one module
 * share the innermost base's target.
 */
sealed interface MergeTarget permits DenseWeight, QuantizedBase {

    /** W += delta, where delta [out, in] = s·B·A of one adapter being merged. */
    void merge(float[] delta, KernelBackend kernels);

    /** W −= delta: takes the update of one merged adapter out again ({@code delta} is its negation, −s·B·A). */
    void unmerge(float[] delta, KernelBackend kernels);
}
