/**
 * Llama-architecture decoders (Llama 2/3, SmolLM, TinyLlama...): configuration, parameters and the
 * explicit forward and backward passes, numerically matching Hugging Face's
 * {@code LlamaForCausalLM} in fp32.
 */
@Export
@Version("0.2.0")
package io.gradus.core.llama;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
