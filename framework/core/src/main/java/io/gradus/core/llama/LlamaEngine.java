package io.gradus.core.llama;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Forward and backward passes of a {@link LlamaModel}, explicit per layer (llm.c style), every hot
 * loop a {@link KernelBackend} call.
 *
 * <p>Shape legend: B batch, T sequence, N = B·T token rows, C hidden size, H query heads, KV key/value
 * heads, D head size, F MLP width, V vocabulary. One decoder layer computes
 * <pre>
 *   a   = x + Wo · attention(rope(Wq·rms1(x)), rope(Wk·rms1(x)), Wv·rms1(x))
 *   x'  = a + Wd · (silu(Wg·rms2(a)) ⊙ Wu·rms2(a))
 * </pre>
 * and the model is logits = Wlm · rmsF(layers(embed(ids))). The W· products are the model's
 * {@link io.gradus.api.model.Linear} modules, which tuners may replace (LoRA, NF4). The forward
 * pass keeps what the backward pass needs in {@link Activations}; gradients go only to trainable
 * parameters.
 */
public final class LlamaEngine implements ModelRunner {

    private final LlamaModel model;
    private final LlamaConfig config;
    private final KernelBackend kernels;
    private Activations acts;

    public LlamaEngine(LlamaModel model, KernelBackend kernels) {
        this.model = model;
        this.config = model.config();
        this.kernels = kernels;
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

    /** Everything one layer's backward pass reads, for the last forward batch. */
    private static final class LayerActivations {
        final float[] input;     // x            [N, C]
        final float[] norm1;     // rms1(x)      [N, C]
        final float[] rstd1;     //              [N]
        final float[] q;         // after RoPE   [N, H·D]
        final float[] k;         // after RoPE   [N, KV·D]
        final float[] v;         //              [N, KV·D]
        final float[] att;       // softmax      [B, H, T, T]
        final float[] attOut;    //              [N, H·D]
        final float[] mid;       // a            [N, C]
        final float[] norm2;     // rms2(a)      [N, C]
        final float[] rstd2;     //              [N]
        final float[] gate;      // Wg·rms2(a)   [N, F]
        final float[] up;        // Wu·rms2(a)   [N, F]
        final float[] hidden;    // silu(g)⊙u    [N, F]

        LayerActivations(int b, int t, LlamaConfig c) {
            int n = b * t;
            input = new float[n * c.hiddenSize()];
            norm1 = new float[n * c.hiddenSize()];
            rstd1 = new float[n];
            q = new float[n * c.numHeads() * c.headDim()];
            k = new float[n * c.numKvHeads() * c.headDim()];
            v = new float[n * c.numKvHeads() * c.headDim()];
            att = new float[b * c.numHeads() * t * t];
            attOut = new float[n * c.numHeads() * c.headDim()];
            mid = new float[n * c.hiddenSize()];
            norm2 = new float[n * c.hiddenSize()];
            rstd2 = new float[n];
            gate = new float[n * c.intermediateSize()];
            up = new float[n * c.intermediateSize()];
            hidden = new float[n * c.intermediateSize()];
        }
    }

    /** Activations of the last forward pass, reused while the batch shape stays the same. */
    private static final class Activations {
        final int batch;
        final int seq;
        final int[] ids;
        final List<LayerActivations> layers = new ArrayList<>();
        final float[] last;      // x after the last layer  [N, C]
        final float[] normF;     // rmsF(x)                 [N, C]
        final float[] rstdF;     //                         [N]
        final float[] logits;    //                         [N, V]
        final float[] ropeCos;   //                         [T, D/2]
        final float[] ropeSin;   //                         [T, D/2]
        // Work buffers, kept with the activations so that every step hands the kernels the same
        // arrays (a device backend then reuses its compiled plans and buffers) and allocates nothing.
        final float[] projected; // a linear's output before the residual add  [N, C]
        final float[] dNormF;    //                         [N, C]
        final float[] dx;        // gradient of the residual stream            [N, C]
        final float[] dHidden;   //                         [N, F]
        final float[] dGate;     //                         [N, F]
        final float[] dUp;       //                         [N, F]
        final float[] dNorm;     //                         [N, C]
        final float[] dAttOut;   //                         [N, H·D]
        final float[] dq;        //                         [N, H·D]
        final float[] dk;        //                         [N, KV·D]
        final float[] dv;        //                         [N, KV·D]

        Activations(int b, int t, LlamaConfig c) {
            batch = b;
            seq = t;
            ids = new int[b * t];
            for (int i = 0; i < c.numLayers(); i++) {
                layers.add(new LayerActivations(b, t, c));
            }
            last = new float[b * t * c.hiddenSize()];
            normF = new float[b * t * c.hiddenSize()];
            rstdF = new float[b * t];
            logits = new float[b * t * c.vocabSize()];
            ropeCos = new float[t * c.headDim() / 2];
            ropeSin = new float[t * c.headDim() / 2];
            Rope.tables(ropeCos, ropeSin, t, c.headDim(), c.ropeTheta());
            int n = b * t;
            projected = new float[n * c.hiddenSize()];
            dNormF = new float[n * c.hiddenSize()];
            dx = new float[n * c.hiddenSize()];
            dHidden = new float[n * c.intermediateSize()];
            dGate = new float[n * c.intermediateSize()];
            dUp = new float[n * c.intermediateSize()];
            dNorm = new float[n * c.hiddenSize()];
            dAttOut = new float[n * c.numHeads() * c.headDim()];
            dq = new float[n * c.numHeads() * c.headDim()];
            dk = new float[n * c.numKvHeads() * c.headDim()];
            dv = new float[n * c.numKvHeads() * c.headDim()];
        }
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
            acts = new Activations(b, t, config);
        }
        int n = b * t;
        int c = config.hiddenSize();
        int h = config.numHeads();
        int kv = config.numKvHeads();
        int d = config.headDim();
        int f = config.intermediateSize();
        float eps = (float) config.rmsNormEps();
        System.arraycopy(batch.inputIds(), 0, acts.ids, 0, n);

        float[] x = acts.layers.isEmpty() ? acts.last : acts.layers.getFirst().input;
        kernels.embeddingForward(x, model.embedTokens().values(), acts.ids, n, c);
        float[] projected = acts.projected;
        for (int l = 0; l < config.numLayers(); l++) {
            LlamaModel.Layer w = model.layers().get(l);
            LayerActivations a = acts.layers.get(l);
            float[] next = l + 1 < config.numLayers() ? acts.layers.get(l + 1).input : acts.last;

            // Attention block: a = x + Wo · attention(...)
            kernels.rmsNormForward(a.norm1, a.rstd1, a.input, w.inputNorm().values(), n, c, eps);
            model.linear(l, "self_attn.q_proj").forward(a.norm1, a.q, n, kernels);
            model.linear(l, "self_attn.k_proj").forward(a.norm1, a.k, n, kernels);
            model.linear(l, "self_attn.v_proj").forward(a.norm1, a.v, n, kernels);
            kernels.rope(a.q, acts.ropeCos, acts.ropeSin, b, t, h, d, false);
            kernels.rope(a.k, acts.ropeCos, acts.ropeSin, b, t, kv, d, false);
            kernels.attentionForward(a.attOut, a.att, a.q, a.k, a.v, b, t, h, kv, d);
            model.linear(l, "self_attn.o_proj").forward(a.attOut, projected, n, kernels);
            System.arraycopy(a.input, 0, a.mid, 0, n * c);
            kernels.add(a.mid, projected, n * c);

            // MLP block: x' = a + Wd · (silu(Wg·rms2(a)) ⊙ Wu·rms2(a))
            kernels.rmsNormForward(a.norm2, a.rstd2, a.mid, w.postAttentionNorm().values(), n, c, eps);
            model.linear(l, "mlp.gate_proj").forward(a.norm2, a.gate, n, kernels);
            model.linear(l, "mlp.up_proj").forward(a.norm2, a.up, n, kernels);
            kernels.swigluForward(a.hidden, a.gate, a.up, n * f);
            model.linear(l, "mlp.down_proj").forward(a.hidden, projected, n, kernels);
            System.arraycopy(a.mid, 0, next, 0, n * c);
            kernels.add(next, projected, n * c);
        }
        kernels.rmsNormForward(acts.normF, acts.rstdF, acts.last, model.finalNorm().values(), n, c, eps);
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
        int b = acts.batch;
        int t = acts.seq;
        int n = b * t;
        int c = config.hiddenSize();
        int h = config.numHeads();
        int kv = config.numKvHeads();
        int d = config.headDim();
        int f = config.intermediateSize();
        int vocab = config.vocabSize();

        // logits = rmsF(x)·Wlmᵀ
        float[] dNormF = acts.dNormF;
        kernels.matmul(AB, dNormF, dLogits, model.lmHead().values(), n, c, vocab, false);
        if (model.lmHead().trainable()) {
            kernels.matmul(ATB, model.lmHead().gradient(), dLogits, acts.normF, vocab, c, n, true);
        }
        float[] dx = acts.dx; // gradient of the residual stream, walked back layer by layer
        Arrays.fill(dx, 0f);
        kernels.rmsNormBackward(dx, gradientOrNull(model.finalNorm()), dNormF, acts.last, model.finalNorm().values(),
                acts.rstdF, n, c);

        float[] dHidden = acts.dHidden;
        float[] dGate = acts.dGate;
        float[] dUp = acts.dUp;
        float[] dNorm = acts.dNorm;
        float[] dAttOut = acts.dAttOut;
        float[] dq = acts.dq;
        float[] dk = acts.dk;
        float[] dv = acts.dv;
        for (int l = config.numLayers() - 1; l >= 0; l--) {
            LlamaModel.Layer w = model.layers().get(l);
            LayerActivations a = acts.layers.get(l);

            // MLP block. dx is d(x'), which flows unchanged into d(a) through the residual.
            Arrays.fill(dHidden, 0f);
            model.linear(l, "mlp.down_proj").backward(a.hidden, dx, dHidden, n, kernels);
            kernels.swigluBackward(dGate, dUp, dHidden, a.gate, a.up, n * f);
            Arrays.fill(dNorm, 0f);
            model.linear(l, "mlp.gate_proj").backward(a.norm2, dGate, dNorm, n, kernels);
            model.linear(l, "mlp.up_proj").backward(a.norm2, dUp, dNorm, n, kernels);
            kernels.rmsNormBackward(dx, gradientOrNull(w.postAttentionNorm()), dNorm, a.mid,
                    w.postAttentionNorm().values(), a.rstd2, n, c);

            // Attention block. dx is now d(a), which flows unchanged into d(x).
            Arrays.fill(dAttOut, 0f);
            model.linear(l, "self_attn.o_proj").backward(a.attOut, dx, dAttOut, n, kernels);
            Arrays.fill(dq, 0f);
            Arrays.fill(dk, 0f);
            Arrays.fill(dv, 0f);
            kernels.attentionBackward(dq, dk, dv, dAttOut, a.att, a.q, a.k, a.v, b, t, h, kv, d);
            kernels.rope(dq, acts.ropeCos, acts.ropeSin, b, t, h, d, true);
            kernels.rope(dk, acts.ropeCos, acts.ropeSin, b, t, kv, d, true);
            Arrays.fill(dNorm, 0f);
            model.linear(l, "self_attn.q_proj").backward(a.norm1, dq, dNorm, n, kernels);
            model.linear(l, "self_attn.k_proj").backward(a.norm1, dk, dNorm, n, kernels);
            model.linear(l, "self_attn.v_proj").backward(a.norm1, dv, dNorm, n, kernels);
            kernels.rmsNormBackward(dx, gradientOrNull(w.inputNorm()), dNorm, a.input, w.inputNorm().values(),
                    a.rstd1, n, c);
        }
        if (model.embedTokens().trainable()) {
            kernels.embeddingBackward(model.embedTokens().gradient(), dx, acts.ids, n, c);
        }
    }

    private static float[] gradientOrNull(Parameter p) {
        return p.trainable() ? p.gradient() : null;
    }
}
