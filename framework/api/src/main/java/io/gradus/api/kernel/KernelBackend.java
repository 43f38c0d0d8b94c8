package io.gradus.api.kernel;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Numerical kernels behind one contract, so the same training code runs on the CPU or a GPU.
 *
 * <p>Registered as an OSGi service with the property {@value #NAME_PROPERTY} ({@code cpu},
 * {@code tornado}). Every implementation is tested against the reference kernels.
 */
@ProviderType
public interface KernelBackend {

    /** The service property that names a backend. */
    String NAME_PROPERTY = "gradus.kernel.backend";

    /** Short name of this backend, e.g. {@code cpu}. */
    String name();

    /** One line on where the kernels run (device, threads), for logs and provenance. */
    String description();

    /**
     * Softmax cross-entropy over the rows of {@code logits}, fused with its gradient.
     *
     * <p>For each row r with {@code targets[r] >= 0}: p = softmax(logits[r]); the row's loss is
     * -log p[target], and {@code dLogits[r] = gradScale * (p - onehot(target))}. Rows whose target is
     * negative (ignored) take no loss and get a zero gradient.
     *
     * @param logits rows*vocab inputs
     * @param targets rows target ids, negative for ignored rows
     * @param dLogits rows*vocab output, overwritten (may be {@code null} to skip the gradient)
     * @param gradScale multiplies the gradient, e.g. 1/(counted rows) for a mean loss
     * @return the sum of the row losses over counted rows
     */
    double crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] dLogits, float gradScale);

    /**
     * Log-probabilities of target tokens, per row: {@code logProbs[r] = x[target] − logZ} with
     * logZ = log Σ_j e^(x_j) over the row's logits x, and, when {@code entropies} is not null, the
     * entropy of the row's distribution {@code entropies[r] = logZ − Σ_j p_j·x_j} (PPO's logs). Rows
     * whose target is negative (ignored) get 0 in both. The per-token quantity of DPO's and PPO's
     * sequence log-probabilities; nothing V-wide is written.
     *
     * @param logits rows*vocab inputs
     * @param targets rows target ids, negative for ignored rows
     * @param logProbs rows outputs, overwritten
     * @param entropies rows outputs, overwritten, or {@code null} to skip them
     */
    void tokenLogProbs(float[] logits, int rows, int vocab, int[] targets, float[] logProbs, float[] entropies);

    /**
     * Backward of {@link #tokenLogProbs}' log-probabilities: given {@code dLogProbs[r]}, the gradient
     * of the loss with respect to row r's log-probability,
     * {@code dLogits[r] = dLogProbs[r] · (onehot(target) − softmax(x_r))}; rows whose target is
     * negative get zeros. Overwrites {@code dLogits}.
     */
    void tokenLogProbsBackward(float[] dLogits, float[] logits, int rows, int vocab, int[] targets, float[] dLogProbs);

    /**
     * {@code C[m,n] = op(A)·op(B)}, or {@code C += op(A)·op(B)} when {@code accumulate}.
     *
     * @see MatmulLayout for the shapes of A and B in each layout
     */
    void matmul(MatmulLayout layout, float[] c, float[] a, float[] b, int m, int n, int k, boolean accumulate);

    /** {@code y[i] += x[i]} for i in [0, n): residual connections and gradient sums. */
    void add(float[] y, float[] x, int n);

    /**
     * RMSNorm of each row: {@code out = weight * x * rstd}, {@code rstd = 1/sqrt(mean(x²) + eps)}.
     *
     * @param rstd rows outputs, kept for the backward pass
     */
    void rmsNormForward(float[] out, float[] rstd, float[] x, float[] weight, int rows, int dim, float eps);

    /**
     * Backward of {@link #rmsNormForward}: with x̂ = x·rstd and g = dOut·weight,
     * {@code dx += rstd·(g − x̂·mean(g·x̂))} and {@code dWeight += Σ_rows dOut·x̂}.
     *
     * @param dWeight may be null when the weight is frozen
     */
    void rmsNormBackward(float[] dx, float[] dWeight, float[] dOut, float[] x, float[] weight, float[] rstd,
            int rows, int dim);

    /**
     * Rotary position embedding in place, Hugging Face's rotate-half convention: for each row (one
     * position t = row mod seq) and head, element i pairs with i + D/2:
     * {@code (a, b) -> (a·cos − b·sin, b·cos + a·sin)} with the angle t·θ^(−2i/D). With
     * {@code inverse} the rotation is undone (angle −t·θ^(−2i/D)), which is also its backward pass.
     *
     * @param x [batch·seq, heads, headDim]
     * @param cos [seq, headDim/2] cosines of the angles
     * @param sin [seq, headDim/2] sines of the angles
     */
    void rope(float[] x, float[] cos, float[] sin, int batch, int seq, int heads, int headDim, boolean inverse);

    /**
     * Causal scaled-dot-product attention with grouped-query heads: query head h uses key/value head
     * h / (heads / kvHeads); scores are q·k/√D for keys at positions ≤ the query's.
     *
     * @param out [batch, seq, heads, headDim] output
     * @param att [batch, heads, seq, seq] softmax probabilities, kept for the backward pass (zero
     *     above the diagonal)
     * @param q [batch, seq, heads, headDim]
     * @param k [batch, seq, kvHeads, headDim]
     * @param v [batch, seq, kvHeads, headDim]
     */
    void attentionForward(float[] out, float[] att, float[] q, float[] k, float[] v, int batch, int seq, int heads,
            int kvHeads, int headDim);

    /**
     * Attention of one new query per head over a key/value cache, for generation: the query sees all
     * {@code length} cached positions (the newest one included).
     *
     * @param out [heads, headDim]
     * @param q [heads, headDim]
     * @param kCache [≥ length, kvHeads, headDim]
     * @param vCache [≥ length, kvHeads, headDim]
     */
    void attentionDecode(float[] out, float[] q, float[] kCache, float[] vCache, int length, int heads, int kvHeads,
            int headDim);

    /** Backward of {@link #attentionForward}: accumulates into {@code dq}, {@code dk} and {@code dv}. */
    void attentionBackward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] att, float[] q, float[] k,
            float[] v, int batch, int seq, int heads, int kvHeads, int headDim);

    /** SwiGLU's gate: {@code h = silu(g)·u} with silu(g) = g·σ(g), over n elements. */
    void swigluForward(float[] h, float[] g, float[] u, int n);

    /**
     * Backward of {@link #swigluForward}, overwriting {@code dg} and {@code du}:
     * {@code du = dh·silu(g)}, {@code dg = dh·u·σ(g)·(1 + g·(1 − σ(g)))}.
     */
    void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int n);

    /** {@code out[i] = f(x[i])} over n elements, overwriting {@code out} (an array other than {@code x}). */
    void activationForward(Activation f, float[] out, float[] x, int n);

    /**
     * Backward of {@link #activationForward}: {@code dx[i] = dy[i]·f'(x[i])} over n elements,
     * overwriting {@code dx} (an array other than {@code dy} and {@code x}).
     */
    void activationBackward(Activation f, float[] dx, float[] dy, float[] x, int n);

    /** Gathers rows of {@code table} [vocab, dim]: {@code out[i] = table[ids[i]]} for n ids. */
    void embeddingForward(float[] out, float[] table, int[] ids, int n, int dim);

    /** Scatter-adds {@code dOut} [n, dim] into the rows of {@code dTable} named by {@code ids}. */
    void embeddingBackward(float[] dTable, float[] dOut, int[] ids, int n, int dim);

    /** Σ x[i]² over [0, n), accumulated in double: the squared L2 norm, for gradient clipping. */
    double sumOfSquares(float[] x, int n);

    /** {@code x[i] *= factor} over [0, n). */
    void scale(float[] x, float factor, int n);

    /**
     * One AdamW step (Loshchilov &amp; Hutter 2019; PyTorch's {@code torch.optim.AdamW}) over n
     * parameters: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², then
     * p −= lr·(weightDecay·p + m̂/(√v̂ + eps)) with the bias corrections m̂ = m/(1−β1^step) and
     * v̂ = v/(1−β2^step). The decay is decoupled: it is not part of the gradient moments.
     *
     * @param step the 1-based number of this update
     */
    void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
            float weightDecay, int step);

    /**
     * Inverted dropout: {@code out[i] = x[i] / (1 − p)} with probability 1 − p, else 0. Element i's
     * decision is a pure function of {@code seed} and i (a counter-based generator), so the same
     * seed gives the same mask on any backend and any thread count.
     */
    void dropout(float[] out, float[] x, int n, float p, long seed);
    /**
     * Declares that the contents of {@code weights} will not change until {@link #release}: a
     * device backend may then keep one copy on the device across calls instead of copying it at
     * every call. Callers retain frozen weights (a LoRA or QLoRA base); the CPU backend ignores it.
     */
    default void retain(float[] weights) {}

    /** Ends a {@link #retain}: the array may change again, and a device copy may be freed. */
    default void release(float[] weights) {}

    /**
     * Expands NF4 weights (the 4-bit NormalFloat format of QLoRA, as bitsandbytes stores it) to
     * floats: {@code out[i] = Nf4.code()[q(i)] · absmax[i / blockSize]}, where the 4-bit code q(i)
     * of element i is the high nibble of {@code packed[i / 2]} for even i and the low nibble for
     * odd i. See {@link Nf4} for the code values and the quantizer.
     *
     * @param out n floats
     * @param packed (n + 1) / 2 bytes
     * @param absmax one scale per block of {@code blockSize} elements (the last block may be short)
     */
    void nf4Dequantize(float[] out, byte[] packed, float[] absmax, int n, int blockSize);

    /**
     * A matrix product with an NF4 right operand, dequantized on the fly (never materialized in
     * full): {@code C (+)= A·op(W)} where W is NF4 in the {@link #nf4Dequantize} layout over its
     * row-major elements. Two layouts, those of a frozen {@code nn.Linear} weight W [n, k]:
     * {@link MatmulLayout#ABT} (forward, {@code C[m,n] = A[m,k]·Wᵀ}) and {@link MatmulLayout#AB}
     * (input gradient, {@code C[m,n] = A[m,k]·W} with W [k, n]).
     *
     * <p>NF4 weights are frozen by nature (they are re-quantized into new arrays, never updated in
     * place), so a device backend keeps {@code packed} and {@code absmax} resident across calls.
     *
     * @throws IllegalArgumentException for {@link MatmulLayout#ATB}, which a frozen weight never needs
     */
    void nf4Matmul(MatmulLayout layout, float[] c, float[] a, byte[] packed, float[] absmax, int blockSize, int m,
            int n, int k, boolean accumulate);

    /**
     * {@link #nf4Dequantize(float[], byte[], float[], int, int)} from double-quantized scales (see
     * {@link Nf4DoubleQuant}): block b's scale is {@code map[absmax[b]] · nestedAbsmax[b / 256] +
     * offset} with {@code map = Nf4DoubleQuant.dynamicMap()}, each operation rounded to float.
     *
     * @param absmax one 8-bit scale per block of {@code blockSize} elements
     * @param nestedAbsmax one float per {@value Nf4DoubleQuant#NESTED_BLOCK_SIZE} 8-bit scales
     * @param offset added to every decoded scale
     */
    void nf4Dequantize(float[] out, byte[] packed, byte[] absmax, float[] nestedAbsmax, float offset, int n,
            int blockSize);

    /**
     * {@link #nf4Matmul(MatmulLayout, float[], float[], byte[], float[], int, int, int, int, boolean)}
     * from double-quantized scales, decoded as in
     * {@link #nf4Dequantize(float[], byte[], byte[], float[], float, int, int)}. Neither the weight
     * nor its float scales are kept in float form beyond the call.
     *
     * @throws IllegalArgumentException for {@link MatmulLayout#ATB}, which a frozen weight never needs
     */
    void nf4Matmul(MatmulLayout layout, float[] c, float[] a, byte[] packed, byte[] absmax, float[] nestedAbsmax,
            float offset, int blockSize, int m, int n, int k, boolean accumulate);
}
