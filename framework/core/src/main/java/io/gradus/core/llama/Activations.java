package io.gradus.core.llama;

import io.gradus.api.model.InsertedModule;
import io.gradus.api.model.InsertionPoint;
import java.util.Arrays;
import java.util.List;

/**
 * What a forward pass through the decoder layers writes, kept between calls while the shape stays.
 * In training every layer has its own activations, which the backward pass reads, and the backward
 * pass's work buffers are here too: every step hands the kernels the same arrays (a device backend
 * then reuses its compiled plans and buffers) and allocates nothing. In inference (generation) one
 * layer's worth serves every layer in turn, and the attention matrix is not kept.
 *
 * <p>Shape legend as in {@link LlamaEngine}: N = B·T rows, C hidden, H/KV heads, D head size, F MLP.
 */
final class Activations {

    /** Everything one layer's backward pass reads, for the last forward pass. */
    static final class Layer {
        final float[] input;     // x            [N, C]
        final float[] norm1;     // rms1(x)      [N, C]
        final float[] rstd1;     //              [N]
        final float[] q;         // after RoPE   [N, H·D]
        final float[] k;         // after RoPE   [N, KV·D]
        final float[] v;         //              [N, KV·D]
        final float[] att;       // softmax      [B, H, T, T], training only
        final float[] attOut;    //              [N, H·D]
        final float[] mid;       // a = x + h    [N, C]
        final float[] norm2;     // rms2(a')     [N, C]
        final float[] rstd2;     //              [N]
        final float[] gate;      // Wg·rms2(a')  [N, F]
        final float[] up;        // Wu·rms2(a')  [N, F]
        final float[] hidden;    // silu(g)⊙u    [N, F]
        private final Point[] points = new Point[InsertionPoint.values().length];

        Layer(int b, int t, LlamaConfig c, boolean training) {
            int n = b * t;
            input = new float[n * c.hiddenSize()];
            norm1 = new float[n * c.hiddenSize()];
            rstd1 = new float[n];
            q = new float[n * c.numHeads() * c.headDim()];
            k = new float[n * c.numKvHeads() * c.headDim()];
            v = new float[n * c.numKvHeads() * c.headDim()];
            att = training ? new float[b * c.numHeads() * t * t] : null;
            attOut = new float[n * c.numHeads() * c.headDim()];
            mid = new float[n * c.hiddenSize()];
            norm2 = new float[n * c.hiddenSize()];
            rstd2 = new float[n];
            gate = new float[n * c.intermediateSize()];
            up = new float[n * c.intermediateSize()];
            hidden = new float[n * c.intermediateSize()];
        }

        /** The saved rows of {@code point}, created on first use. */
        Point point(InsertionPoint point) {
            Point p = points[point.ordinal()];
            if (p == null) {
                p = new Point();
                points[point.ordinal()] = p;
            }
            return p;
        }
    }

    /**
     * The saved rows of one insertion point of a layer: its input, and each inserted module's
     * output and workspace. Buffers only grow, so that in inference, where one set serves every
     * layer, layers with different modules do not reallocate them at every step.
     */
    static final class Point {
        /** The point's value before its modules ran: a buffer of its own, or an activation of the layer. */
        float[] input;
        float[][] outputs = new float[0][];
        float[][][] workspaces = new float[0][][];
        /** The module list the buffers were last sized for (the model's immutable list, by identity). */
        private List<InsertedModule> sizedFor;

        /** The point's own input buffer of {@code size} floats. */
        float[] ownInput(int size) {
            if (input == null || input.length < size) {
                input = new float[size];
            }
            return input;
        }

        /** Sizes outputs and workspaces for {@code modules} over {@code rows} rows of width {@code c}. */
        void prepare(List<InsertedModule> modules, int rows, int c) {
            if (modules == sizedFor) {
                return;
            }
            if (outputs.length < modules.size()) {
                outputs = Arrays.copyOf(outputs, modules.size());
                workspaces = Arrays.copyOf(workspaces, modules.size());
            }
            for (int i = 0; i < modules.size(); i++) {
                if (outputs[i] == null || outputs[i].length < rows * c) {
                    outputs[i] = new float[rows * c];
                }
                int[] widths = modules.get(i).workspaceWidths();
                if (workspaces[i] == null || workspaces[i].length < widths.length) {
                    workspaces[i] = workspaces[i] == null ? new float[widths.length][]
                            : Arrays.copyOf(workspaces[i], widths.length);
                }
                for (int j = 0; j < widths.length; j++) {
                    if (workspaces[i][j] == null || workspaces[i][j].length < rows * widths[j]) {
                        workspaces[i][j] = new float[rows * widths[j]];
                    }
                }
            }
            sizedFor = modules;
        }

        /** Whether the buffers were sized for exactly these modules (the list the forward pass ran). */
        boolean holds(List<InsertedModule> modules) {
            return modules == sizedFor;
        }
    }

    final int batch;
    final int seq;
    final int rows;
    final boolean training;
    final int[] ids;
    private final Layer[] layers;
    final float[] last;      // x after the last layer  [N, C]
    final float[] ropeCos;   // angles of the rows' positions  [T, D/2]
    final float[] ropeSin;   //                         [T, D/2]
    final float[] projected; // a projection's output before the residual add, when nothing is inserted there  [N, C]
    // Training only (null in inference): the head's activations and the backward pass's work buffers.
    final float[] normF;     // rmsF(x)                 [N, C]
    final float[] rstdF;     //                         [N]
    final float[] logits;    //                         [N, V]
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
    /** Gradients between the modules of a point, two [N, C] buffers used in turn; made when first needed. */
    private float[][] pointGradients;

    private Activations(int b, int t, LlamaConfig c, boolean training) {
        this.batch = b;
        this.seq = t;
        this.rows = b * t;
        this.training = training;
        int n = rows;
        ids = new int[n];
        layers = new Layer[training ? c.numLayers() : 1];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new Layer(b, t, c, training);
        }
        last = new float[n * c.hiddenSize()];
        ropeCos = new float[t * c.headDim() / 2];
        ropeSin = new float[t * c.headDim() / 2];
        projected = new float[n * c.hiddenSize()];
        normF = training ? new float[n * c.hiddenSize()] : null;
        rstdF = training ? new float[n] : null;
        logits = training ? new float[n * c.vocabSize()] : null;
        dNormF = training ? new float[n * c.hiddenSize()] : null;
        dx = training ? new float[n * c.hiddenSize()] : null;
        dHidden = training ? new float[n * c.intermediateSize()] : null;
        dGate = training ? new float[n * c.intermediateSize()] : null;
        dUp = training ? new float[n * c.intermediateSize()] : null;
        dNorm = training ? new float[n * c.hiddenSize()] : null;
        dAttOut = training ? new float[n * c.numHeads() * c.headDim()] : null;
        dq = training ? new float[n * c.numHeads() * c.headDim()] : null;
        dk = training ? new float[n * c.numKvHeads() * c.headDim()] : null;
        dv = training ? new float[n * c.numKvHeads() * c.headDim()] : null;
    }

    /** For a training step on a batch of b sequences of t tokens, with RoPE angles of positions 0..t−1. */
    static Activations training(int b, int t, LlamaConfig c) {
        Activations acts = new Activations(b, t, c, true);
        Rope.tables(acts.ropeCos, acts.ropeSin, t, c.headDim(), c.ropeTheta());
        return acts;
    }

    /** For a forward pass over {@code rows} positions of one sequence; the caller fills the RoPE angles. */
    static Activations inference(int rows, LlamaConfig c) {
        return new Activations(1, rows, c, false);
    }

    /** Layer {@code l}'s activations (in inference, the one set every layer uses). */
    Layer layer(int l) {
        return layers[training ? l : 0];
    }

    /** Where the embeddings go: the first layer's input. */
    float[] input() {
        return layers[0].input;
    }

    /** Where layer {@code l} writes its output: the next layer's input, or {@link #last}. */
    float[] layerOutput(int l, int layerCount) {
        if (l + 1 == layerCount) {
            return last;
        }
        return layer(l + 1).input;
    }

    /** The i-th of the two gradient buffers between inserted modules. */
    float[] pointGradient(int i, int size) {
        if (pointGradients == null) {
            pointGradients = new float[][] {new float[size], new float[size]};
        }
        return pointGradients[i];
    }
}
