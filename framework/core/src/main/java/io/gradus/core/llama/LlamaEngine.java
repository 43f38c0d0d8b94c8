package io.gradus.core.llama;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import java.util.Arrays;

/**
 * Forward and backward passes of a {@link LlamaModel}, explicit per layer (llm.c style), every hot
 * loop a {@link KernelBackend} call.
 *
 * <p>Shape legend: B batch, T sequence, N = B·T token rows, C hidden size, H query heads, KV key/value
 * heads, D head size, F MLP width, V vocabulary. The model is logits = Wlm · rmsF(layers(embed(ids))),
 * its decoder layers those of {@link DecoderLayers} (the loop generation runs too), with attention
 * over the whole batch. The forward pass keeps what the backward pass needs in its
 * {@link Activations}; gradients go only to trainable parameters.
 */
public final class LlamaEngine implements ModelRunner {

    private final LlamaModel model;
    private final LlamaConfig config;
    private final KernelBackend kernels;
    private final DecoderLayers layers;
    private final DecoderLayers.Attention batchAttention;
    private Activations acts;

    public LlamaEngine(LlamaModel model, KernelBackend kernels) {
        this.model = model;
        this.config = model.config();
        this.kernels = kernels;
        this.layers = new DecoderLayers(model, kernels);
        // Causal attention of every position over the batch, keeping the probabilities for backward.
        this.batchAttention = (l, a, acts) -> kernels.attentionForward(a.attOut, a.att, a.q, a.k, a.v, acts.batch,
                acts.seq, config.numHeads(), config.numKvHeads(), config.headDim());
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public KernelBackend kernels() {
        return kernels;
    }

    public LlamaModel model() {
        return model;
    }

    /**
     * Runs the model on a batch and returns its logits [N, V]. The returned array belongs to the
     * engine and is overwritten by the next forward pass.
     */
    @Override
    public float[] forward(TokenBatch batch) {
        int b = batch.batchSize();
        int t = batch.seqLen();
        if (t > config.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + t + " tokens is longer than the model's "
                    + config.maxPositions() + " positions");
        }
        if (acts == null || acts.batch != b || acts.seq != t) {
            acts = Activations.training(b, t, config);
        }
        int n = b * t;
        int c = config.hiddenSize();
        System.arraycopy(batch.inputIds(), 0, acts.ids, 0, n);
        kernels.embeddingForward(acts.input(), model.embedTokens().values(), acts.ids, n, c);
        layers.forward(acts, batchAttention);
        kernels.rmsNormForward(acts.normF, acts.rstdF, acts.last, model.finalNorm().values(), n, c,
                (float) config.rmsNormEps());
        kernels.matmul(ABT, acts.logits, acts.normF, model.lmHead().values(), n, config.vocabSize(), c, false);
        return acts.logits;
    }

    /**
     * Back-propagates {@code dLogits} [N, V] through the last forward pass, adding into the gradients
     * of the trainable parameters (frozen ones are skipped, their inputs still get gradients).
     */
    @Override
    public void backward(float[] dLogits) {
        if (acts == null) {
            throw new IllegalStateException("backward() needs a forward() first");
        }
        int n = acts.rows;
        int c = config.hiddenSize();
        int vocab = config.vocabSize();

        // logits = rmsF(x)·Wlmᵀ
        kernels.matmul(AB, acts.dNormF, dLogits, model.lmHead().values(), n, c, vocab, false);
        if (model.lmHead().trainable()) {
            kernels.matmul(ATB, model.lmHead().gradient(), dLogits, acts.normF, vocab, c, n, true);
        }
        Arrays.fill(acts.dx, 0f);
        kernels.rmsNormBackward(acts.dx, DecoderLayers.gradientOrNull(model.finalNorm()), acts.dNormF, acts.last,
                model.finalNorm().values(), acts.rstdF, n, c);
        layers.backward(acts);
        if (model.embedTokens().trainable()) {
            kernels.embeddingBackward(model.embedTokens().gradient(), acts.dx, acts.ids, n, c);
        }
    }
}
