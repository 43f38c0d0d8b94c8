package io.gradus.core.llama;

import static io.gradus.api.model.InsertionPoint.ATTENTION_OUTPUT;
import static io.gradus.api.model.InsertionPoint.LAYER_OUTPUT;
import static io.gradus.api.model.InsertionPoint.MLP_OUTPUT;
import static io.gradus.api.model.InsertionPoint.POST_ATTENTION;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.InsertedModule;
import io.gradus.api.model.InsertionPoint;
import io.gradus.api.model.Parameter;
import java.util.Arrays;
import java.util.List;

/**
 * The decoder layers of a {@link LlamaModel}, forward and backward: the one layer loop that training
 * ({@link LlamaEngine}) and generation ({@link Generator}) both run. One layer computes
 * <pre>
 *   h  = Wo · attention(rope(Wq·rms1(x)), rope(Wk·rms1(x)), Wv·rms1(x))   [attention_output]
 *   a  = x + h                                                           [post_attention]
 *   m  = Wd · (silu(Wg·rms2(a)) ⊙ Wu·rms2(a))                             [mlp_output]
 *   x' = a + m                                                           [layer_output]
 * </pre>
 * where the W· products are the model's {@link io.gradus.api.model.Linear} modules and each bracket
 * is an {@link InsertionPoint}: the value there goes through the modules inserted at it (none,
 * usually) before the layer goes on with it. Only how attention mixes positions differs between
 * training and generation ({@link Attention}); only training runs the backward pass.
 *
 * <p>Shape legend as in {@link LlamaEngine}.
 */
final class DecoderLayers {

    /** How a layer's attention mixes positions: over a whole batch, or against a key/value cache. */
    @FunctionalInterface
    interface Attention {
        /**
         * Writes {@code a.attOut} from the layer's queries, keys (both already rotated) and values,
         * causally: each position sees itself and the positions before it.
         */
        void forward(int layer, Activations.Layer a, Activations acts);
    }

    private final LlamaModel model;
    private final LlamaConfig config;
    private final KernelBackend kernels;

    DecoderLayers(LlamaModel model, KernelBackend kernels) {
        this.model = model;
        this.config = model.config();
        this.kernels = kernels;
    }

    /** Runs every layer on {@code acts.input()} (the embedded tokens); the result lands in {@code acts.last}. */
    void forward(Activations acts, Attention attention) {
        int n = acts.rows;
        int c = config.hiddenSize();
        int h = config.numHeads();
        int kv = config.numKvHeads();
        int d = config.headDim();
        int f = config.intermediateSize();
        float eps = (float) config.rmsNormEps();
        for (int l = 0; l < config.numLayers(); l++) {
            LlamaModel.Layer w = model.layers().get(l);
            Activations.Layer a = acts.layer(l);
            float[] next = acts.layerOutput(l, config.numLayers());

            // Attention block: a = x + Wo · attention(...)
            kernels.rmsNormForward(a.norm1, a.rstd1, a.input, w.inputNorm().values(), n, c, eps);
            model.linear(l, "self_attn.q_proj").forward(a.norm1, a.q, n, kernels);
            model.linear(l, "self_attn.k_proj").forward(a.norm1, a.k, n, kernels);
            model.linear(l, "self_attn.v_proj").forward(a.norm1, a.v, n, kernels);
            kernels.rope(a.q, acts.ropeCos, acts.ropeSin, acts.batch, acts.seq, h, d, false);
            kernels.rope(a.k, acts.ropeCos, acts.ropeSin, acts.batch, acts.seq, kv, d, false);
            attention.forward(l, a, acts);
            float[] attended = pointInput(l, ATTENTION_OUTPUT, a, acts.projected, n);
            model.linear(l, "self_attn.o_proj").forward(a.attOut, attended, n, kernels);
            attended = insertedForward(l, ATTENTION_OUTPUT, a, attended, n);
            System.arraycopy(a.input, 0, a.mid, 0, n * c);
            kernels.add(a.mid, attended, n * c);
            float[] mid = insertedForward(l, POST_ATTENTION, a, a.mid, n);

            // MLP block: x' = a + Wd · (silu(Wg·rms2(a)) ⊙ Wu·rms2(a))
            kernels.rmsNormForward(a.norm2, a.rstd2, mid, w.postAttentionNorm().values(), n, c, eps);
            model.linear(l, "mlp.gate_proj").forward(a.norm2, a.gate, n, kernels);
            model.linear(l, "mlp.up_proj").forward(a.norm2, a.up, n, kernels);
            kernels.swigluForward(a.hidden, a.gate, a.up, n * f);
            float[] mlp = pointInput(l, MLP_OUTPUT, a, acts.projected, n);
            model.linear(l, "mlp.down_proj").forward(a.hidden, mlp, n, kernels);
            mlp = insertedForward(l, MLP_OUTPUT, a, mlp, n);
            float[] sum = pointInput(l, LAYER_OUTPUT, a, next, n);
            System.arraycopy(mid, 0, sum, 0, n * c);
            kernels.add(sum, mlp, n * c);
            float[] out = insertedForward(l, LAYER_OUTPUT, a, sum, n);
            if (out != next) {
                System.arraycopy(out, 0, next, 0, n * c);
            }
        }
    }

    /**
     * Back-propagates {@code acts.dx}, the gradient at the last layer's output, through every layer
     * of the last forward pass (a training one, over the batch); on return {@code acts.dx} is the
     * gradient at the first layer's input. Adds into the trainable parameters' gradients; frozen
     * ones are skipped, their inputs still get gradients.
     */
    void backward(Activations acts) {
        int b = acts.batch;
        int t = acts.seq;
        int n = acts.rows;
        int c = config.hiddenSize();
        int h = config.numHeads();
        int kv = config.numKvHeads();
        int d = config.headDim();
        int f = config.intermediateSize();
        float[] dx = acts.dx; // gradient of the residual stream, walked back layer by layer
        for (int l = config.numLayers() - 1; l >= 0; l--) {
            LlamaModel.Layer w = model.layers().get(l);
            Activations.Layer a = acts.layer(l);

            // dx is d(x'); through layer_output's modules it becomes d(a + m).
            residualBackward(l, LAYER_OUTPUT, a, acts);

            // MLP block. d(a + m) flows unchanged into d(a) through the residual.
            float[] dMlp = insertedBackward(l, MLP_OUTPUT, a, dx, acts);
            Arrays.fill(acts.dHidden, 0f);
            model.linear(l, "mlp.down_proj").backward(a.hidden, dMlp, acts.dHidden, n, kernels);
            kernels.swigluBackward(acts.dGate, acts.dUp, acts.dHidden, a.gate, a.up, n * f);
            Arrays.fill(acts.dNorm, 0f);
            model.linear(l, "mlp.gate_proj").backward(a.norm2, acts.dGate, acts.dNorm, n, kernels);
            model.linear(l, "mlp.up_proj").backward(a.norm2, acts.dUp, acts.dNorm, n, kernels);
            kernels.rmsNormBackward(dx, gradientOrNull(w.postAttentionNorm()), acts.dNorm,
                    pointOutput(l, POST_ATTENTION, a, a.mid), w.postAttentionNorm().values(), a.rstd2, n, c);
            residualBackward(l, POST_ATTENTION, a, acts);

            // Attention block. dx is now d(x + h), which flows unchanged into d(x).
            float[] dAttended = insertedBackward(l, ATTENTION_OUTPUT, a, dx, acts);
            Arrays.fill(acts.dAttOut, 0f);
            model.linear(l, "self_attn.o_proj").backward(a.attOut, dAttended, acts.dAttOut, n, kernels);
            Arrays.fill(acts.dq, 0f);
            Arrays.fill(acts.dk, 0f);
            Arrays.fill(acts.dv, 0f);
            kernels.attentionBackward(acts.dq, acts.dk, acts.dv, acts.dAttOut, a.att, a.q, a.k, a.v, b, t, h, kv, d);
            kernels.rope(acts.dq, acts.ropeCos, acts.ropeSin, b, t, h, d, true);
            kernels.rope(acts.dk, acts.ropeCos, acts.ropeSin, b, t, kv, d, true);
            Arrays.fill(acts.dNorm, 0f);
            model.linear(l, "self_attn.q_proj").backward(a.norm1, acts.dq, acts.dNorm, n, kernels);
            model.linear(l, "self_attn.k_proj").backward(a.norm1, acts.dk, acts.dNorm, n, kernels);
            model.linear(l, "self_attn.v_proj").backward(a.norm1, acts.dv, acts.dNorm, n, kernels);
            kernels.rmsNormBackward(dx, gradientOrNull(w.inputNorm()), acts.dNorm, a.input, w.inputNorm().values(),
                    a.rstd1, n, c);
        }
    }

    /**
     * The array the value at {@code point} is written into: the point's own saved input when modules
     * are inserted there (their backward passes read it), else {@code whenNone}.
     */
    private float[] pointInput(int l, InsertionPoint point, Activations.Layer a, float[] whenNone, int n) {
        if (model.insertedModules(l, point).isEmpty()) {
            return whenNone;
        }
        return a.point(point).ownInput(n * config.hiddenSize());
    }

    /**
     * The point's value after its modules in the last forward pass: the last one's output, or
     * {@code input} when there are none.
     */
    private float[] pointOutput(int l, InsertionPoint point, Activations.Layer a, float[] input) {
        List<InsertedModule> modules = model.insertedModules(l, point);
        return modules.isEmpty() ? input : saved(l, point, a, modules).outputs[modules.size() - 1];
    }

    /** The point's rows saved by the last forward pass, which must have run these very modules. */
    private static Activations.Point saved(int l, InsertionPoint point, Activations.Layer a,
            List<InsertedModule> modules) {
        Activations.Point p = a.point(point);
        if (!p.holds(modules)) {
            throw new IllegalStateException("the modules at " + point.id() + " of layer " + l
                    + " changed after the forward pass; run forward() again before backward()");
        }
        return p;
    }

    /** Runs the modules inserted at {@code point} on {@code input}, each on the previous one's output. */
    private float[] insertedForward(int l, InsertionPoint point, Activations.Layer a, float[] input, int n) {
        List<InsertedModule> modules = model.insertedModules(l, point);
        if (modules.isEmpty()) {
            return input;
        }
        Activations.Point p = a.point(point);
        p.prepare(modules, n, config.hiddenSize());
        p.input = input;
        float[] x = input;
        for (int i = 0; i < modules.size(); i++) {
            modules.get(i).forward(x, p.outputs[i], p.workspaces[i], n, kernels);
            x = p.outputs[i];
        }
        return x;
    }

    /**
     * Back-propagates {@code dOut}, the gradient at the point's output, through its modules in
     * reverse; returns the gradient at the point's input ({@code dOut} itself when there are none).
     */
    private float[] insertedBackward(int l, InsertionPoint point, Activations.Layer a, float[] dOut, Activations acts) {
        List<InsertedModule> modules = model.insertedModules(l, point);
        if (modules.isEmpty()) {
            return dOut;
        }
        Activations.Point p = saved(l, point, a, modules);
        int size = acts.rows * config.hiddenSize();
        float[] dy = dOut;
        for (int i = modules.size() - 1; i >= 0; i--) {
            float[] dx = acts.pointGradient((modules.size() - 1 - i) % 2, size);
            Arrays.fill(dx, 0f);
            float[] x = i == 0 ? p.input : p.outputs[i - 1];
            modules.get(i).backward(x, p.outputs[i], p.workspaces[i], dy, dx, acts.rows, kernels);
            dy = dx;
        }
        return dy;
    }

    /** For a point on the residual stream: {@code acts.dx}, the gradient at its output, becomes that at its input. */
    private void residualBackward(int l, InsertionPoint point, Activations.Layer a, Activations acts) {
        float[] dInput = insertedBackward(l, point, a, acts.dx, acts);
        if (dInput != acts.dx) {
            System.arraycopy(dInput, 0, acts.dx, 0, acts.rows * config.hiddenSize());
        }
    }

    /** A parameter's gradient buffer, or null when it is frozen (kernels then skip its gradient). */
    static float[] gradientOrNull(Parameter p) {
        return p.trainable() ? p.gradient() : null;
    }
}
