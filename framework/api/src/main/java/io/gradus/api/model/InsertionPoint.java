package io.gradus.api.model;

import java.util.Locale;

/**
 * A named place in every decoder layer where {@linkplain InsertedModule inserted modules} change the
 * rows of activations [N, C] passing through. A pre-norm decoder layer (Llama's) computes
 * <pre>
 *   h  = o_proj(attention(input_layernorm(x)))     → ATTENTION_OUTPUT
 *   a  = x + h                                      → POST_ATTENTION
 *   m  = down_proj(mlp(post_attention_layernorm(a)))→ MLP_OUTPUT
 *   x' = a + m                                      → LAYER_OUTPUT
 * </pre>
 * and each point hands its value to the modules inserted there before the layer goes on with it.
 */
public enum InsertionPoint {
    /** The attention sub-layer's output (after {@code o_proj}), before the residual add. */
    ATTENTION_OUTPUT,
    /** The residual stream after attention's residual add: what {@code post_attention_layernorm} reads. */
    POST_ATTENTION,
    /** The MLP sub-layer's output (after {@code down_proj}), before the residual add. */
    MLP_OUTPUT,
    /** The residual stream after the MLP's residual add: the layer's output, the next layer's input. */
    LAYER_OUTPUT;

    /** The point's name in lower snake case, e.g. {@code attention_output}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
