package io.gradus.api.kernel;

/**
 * A tensor in QLoRA's 4-bit NormalFloat format, in either of the two forms bitsandbytes stores:
 * {@link Nf4} (one float scale per block) or {@link Nf4DoubleQuant} (the scales themselves
 * quantized to 8 bits, bitsandbytes' {@code compress_statistics}). Both share the packed 4-bit
 * codes; they differ in how a block's scale is stored. Frozen by nature: a kernel backend may keep
 * the arrays on a device across calls.
 */
public sealed interface Nf4Tensor permits Nf4, Nf4DoubleQuant {

    /** (n + 1) / 2 bytes of 4-bit codes, the element with the even index in the high nibble. */
    byte[] packed();

    /** Number of elements. */
    int n();

    /** Elements per scale. */
    int blockSize();

    /** The float scale of each block: {@link Nf4#absmax()} itself, or the 8-bit scales decoded into a new array. */
    float[] scales();

    /** Resident bytes per element: the codes, the scales and their statistics. */
    double bytesPerElement();

    /** Expands the tensor to floats into {@code out} (n values) with {@code kernels}. */
    void dequantize(KernelBackend kernels, float[] out);

    /**
     * {@code C (+)= A·op(W)} with this tensor as W, through the fused kernel (the tensor is never
     * expanded in full): see {@link KernelBackend#nf4Matmul(MatmulLayout, float[], float[], byte[], float[], int, int, int, int, boolean)}.
     */
    void matmul(KernelBackend kernels, MatmulLayout layout, float[] c, float[] a, int m, int n, int k, boolean accumulate);
}
