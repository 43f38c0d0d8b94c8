package io.gradus.api.kernel;

/**
 * Which operands of {@code C[m,n] (+)= op(A) · op(B)} are transposed; k is the shared dimension.
 * All matrices are row-major. The three forms are exactly what a linear layer y = x·Wᵀ (weights
 * stored [out, in], as in PyTorch and safetensors) needs for its forward and backward passes.
 */
public enum MatmulLayout {
    /** A is [m,k], B is [k,n]: input gradient dx = dy · W. */
    AB,
    /** A is [m,k], B is [n,k]: forward y = x · Wᵀ. */
    ABT,
    /** A is [k,m], B is [k,n]: weight gradient dW = dyᵀ · x. */
    ATB
}
