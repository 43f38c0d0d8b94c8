package io.gradus.api.model;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Decides, module by module, what a linear module of a model becomes while the model loads: the
 * loader hands over each module as soon as its weight is read, before it reads the next one, so a
 * transform that quantizes (QLoRA) means the float model never exists in full.
 */
@ConsumerType
@FunctionalInterface
public interface LinearTransform {

    /** Keeps every module as loaded. */
    LinearTransform NONE = (name, loaded) -> loaded;

    /**
     * @param name the module's Hugging Face name, e.g. {@code model.layers.0.self_attn.q_proj}
     * @param loaded the module as read from the files: dense (one float weight [out, in]) or already
     *     quantized (a {@link QuantizedLinear}, from a bitsandbytes folder)
     * @return the module to keep in the model, of the same shape
     */
    Linear apply(String name, Linear loaded);
}
