package io.gradus.api.kernel;

/**
 * Element-wise non-linearities of {@link KernelBackend#activationForward}, with the definitions of
 * PyTorch and Hugging Face's {@code get_activation} (the names adapter configurations use).
 */
public enum Activation {
    /** {@code max(x, 0)}; its derivative is taken as 0 at 0, as PyTorch does. */
    RELU,
    /** Swish / SiLU (Ramachandran et al. 2017): {@code x·σ(x)}. */
    SILU,
    /** GELU (Hendrycks &amp; Gimpel 2016), exact: {@code x·Φ(x) = ½x·(1 + erf(x/√2))}. */
    GELU,
    /** GELU's tanh approximation ("gelu_new"): {@code ½x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}. */
    GELU_TANH
}
