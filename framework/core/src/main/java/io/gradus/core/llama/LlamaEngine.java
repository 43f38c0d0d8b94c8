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
 * and the model is logits = Wlm · rmsF(layers(embed(ids))). The forward pass keeps what the
 * backward pass needs in {@link Activations}; gradients go only to trainable parameters.
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
        for (int l = 0; l < config.numLayers(); l++) {
            LlamaModel.Layer w = model.layers().get(l);
            LayerActivations a = acts.layers.get(l);
            float[] next = l + 1 < config.numLayers() ? acts.layers.get(l + 1).input : acts.last;

            // Attention block: a = x + Wo · attention(...)
            kernels.rmsNormForward(a.norm1, a.rstd1, a.input, w.inputNorm().values(), n, c, eps);
            kernels.matmul(ABT, a.q, a.norm1, w.q().values(), n, h * d, c, false);
            kernels.matmul(ABT, a.k, a.norm1, w.k().values(), n, kv * d, c, false);
            kernels.matmul(ABT, a.v, a.norm1, w.v().values(), n, kv * d, c, false);
            kernels.rope(a.q, acts.ropeCos, acts.ropeSin, b, t, h, d, false);
            kernels.rope(a.k, acts.ropeCos, acts.ropeSin, b, t, kv, d, false);
            kernels.attentionForward(a.attOut, a.att, a.q, a.k, a.v, b, t, h, kv, d);
            System.arraycopy(a.input, 0, a.mid, 0, n * c);
            kernels.matmul(ABT, a.mid, a.attOut, w.o().values(), n, c, h * d, true);

            // MLP block: x' = a + Wd · (silu(Wg·rms2(a)) ⊙ Wu·rms2(a))
            kernels.rmsNormForward(a.norm2, a.rstd2, a.mid, w.postAttentionNorm().values(), n, c, eps);
            kernels.matmul(ABT, a.gate, a.norm2, w.gate().values(), n, f, c, false);
            kernels.matmul(ABT, a.up, a.norm2, w.up().values(), n, f, c, false);
            kernels.swigluForward(a.hidden, a.gate, a.up, n * f);
            System.arraycopy(a.mid, 0, next, 0, n * c);
            kernels.matmul(ABT, next, a.hidden, w.down().values(), n, c, f, true);
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
        float[] dNormF = new float[n * c];
        kernels.matmul(AB, dNormF, dLogits, model.lmHead().values(), n, c, vocab, false);
        weightGradient(model.lmHead(), dLogits, acts.normF, vocab, c, n);
        float[] dx = new float[n * c]; // gradient of the residual stream, walked back layer by layer
        kernels.rmsNormBackward(dx, gradientOrNull(model.finalNorm()), dNormF, acts.last, model.finalNorm().values(),
                acts.rstdF, n, c);

        float[] dHidden = new float[n * f];
        float[] dGate = new float[n * f];
        float[] dUp = new float[n * f];
        float[] dNorm = new float[n * c];
        float[] dAttOut = new float[n * h * d];
        float[] dq = new float[n * h * d];
        float[] dk = new float[n * kv * d];
        float[] dv = new float[n * kv * d];
        for (int l = config.numLayers() - 1; l >= 0; l--) {
            LlamaModel.Layer w = model.layers().get(l);
            LayerActivations a = acts.layers.get(l);

            // MLP block. dx is d(x'), which flows unchanged into d(a) through the residual.
            kernels.matmul(AB, dHidden, dx, w.down().values(), n, f, c, false);
            weightGradient(w.down(), dx, a.hidden, c, f, n);
            kernels.swigluBackward(dGate, dUp, dHidden, a.gate, a.up, n * f);
            kernels.matmul(AB, dNorm, dGate, w.gate().values(), n, c, f, false);
            kernels.matmul(AB, dNorm, dUp, w.up().values(), n, c, f, true);
            weightGradient(w.gate(), dGate, a.norm2, f, c, n);
            weightGradient(w.up(), dUp, a.norm2, f, c, n);
            kernels.rmsNormBackward(dx, gradientOrNull(w.postAttentionNorm()), dNorm, a.mid,
                    w.postAttentionNorm().values(), a.rstd2, n, c);

            // Attention block. dx is now d(a), which flows unchanged into d(x).
            kernels.matmul(AB, dAttOut, dx, w.o().values(), n, h * d, c, false);
            weightGradient(w.o(), dx, a.attOut, c, h * d, n);
            Arrays.fill(dq, 0f);
            Arrays.fill(dk, 0f);
            Arrays.fill(dv, 0f);
            kernels.attentionBackward(dq, dk, dv, dAttOut, a.att, a.q, a.k, a.v, b, t, h, kv, d);
            kernels.rope(dq, acts.ropeCos, acts.ropeSin, b, t, h, d, true);
            kernels.rope(dk, acts.ropeCos, acts.ropeSin, b, t, kv, d, true);
            kernels.matmul(AB, dNorm, dq, w.q().values(), n, c, h * d, false);
            kernels.matmul(AB, dNorm, dk, w.k().values(), n, c, kv * d, true);
            kernels.matmul(AB, dNorm, dv, w.v().values(), n, c, kv * d, true);
            weightGradient(w.q(), dq, a.norm1, h * d, c, n);
            weightGradient(w.k(), dk, a.norm1, kv * d, c, n);
            weightGradient(w.v(), dv, a.norm1, kv * d, c, n);
            kernels.rmsNormBackward(dx, gradientOrNull(w.inputNorm()), dNorm, a.input, w.inputNorm().values(),
                    a.rstd1, n, c);
        }
        if (model.embedTokens().trainable()) {
            kernels.embeddingBackward(model.embedTokens().gradient(), dx, acts.ids, n, c);
        }
    }

    /** dW[out, in] += dYᵀ · X for a linear layer y = x·Wᵀ, when W trains. */
    private void weightGradient(Parameter weight, float[] dY, float[] x, int out, int in, int rows) {
        if (weight.trainable()) {
            kernels.matmul(ATB, weight.gradient(), dY, x, out, in, rows, true);
        }
    }

    private static float[] gradientOrNull(Parameter p) {
        return p.trainable() ? p.gradient() : null;
    }
}
