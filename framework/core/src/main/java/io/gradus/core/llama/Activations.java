package io.gradus.core.llama;

import io.gradus.api.model.InsertedModule;
import io.gradus.api.model.InsertionPoint;
import java.util.Arrays;
import java.util.List;

/**
 * What a forward pass through the decoder layers writes, kept between calls while the shape stays.
 * Three kinds ({@link Kind}): in training every layer has its own activations, which the backward
 * pass reads, and the backward pass's work buffers are here too: every step hands the kernels the
 * same arrays (a device backend then reuses its compiled plans and buffers) and allocates nothing. A
 * no-grad pass over a batch has one layer's worth, which serves every layer in turn, and the final
 * norm's output; in decoding (generation) one layer's worth serves every layer, and the attention
 * matrix is not kept.
 *
 * <p>Shape legend as in {@link LlamaEngine}: N = B·T rows, C hidden, H/KV heads, D head size, F MLP.
 */
final class Activations {

    /** What a pass keeps. */
    enum Kind {
        /** Every layer's activations and the backward pass's buffers. */
        TRAINING,
        /** One layer's activations, reused by every layer, and the final hidden states: a no-grad pass over a batch. */
        NO_GRAD,
        /** One layer's activations without the attention matrix: generation, against a key/value cache. */
        DECODE
    }

    /** Everything one layer's backward pass reads, for the last forward pass. */
    static final class Layer {
        final float[] input;     // x            [N, C]
        final float[] norm1;     // rms1(x)      [N, C]
        final float[] rstd1;     //              [N]
        final float[] q;         // after RoPE   [N, H·D]
        final float[] k;         // after RoPE   [N, KV·D]
        final float[] v;         //              [N, KV·D]
        final float[] att;       // softmax      [B, H, T, T], not in decoding
        final float[] attOut;    //              [N, H·D]
        final float[] mid;       // a = x + h    [N, C]
        final float[] norm2;     // rms2(a')     [N, C]
        final float[] rstd2;     //              [N]
        final float[] gate;      // Wg·rms2(a')  [N, F]
        final float[] up;        // Wu·rms2(a')  [N, F]
        final float[] hidden;    // silu(g)⊙u    [N, F]
        private final Point[] points = new Point[InsertionPoint.values().length];

        Layer(int b, int t, LlamaConfig c, boolean keepsAttention) {
            int n = b * t;
            input = new float[n * c.hiddenSize()];
            norm1 = new float[n * c.hiddenSize()];
            rstd1 = new float[n];
            q = new float[n * c.numHeads() * c.headDim()];
            k = new float[n * c.numKvHeads() * c.headDim()];
            v = new float[n * c.numKvHeads() * c.headDim()];
            att = keepsAttention ? new float[b * c.numHeads() * t * t] : null;
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
    final Kind kind;
    final int[] ids;
    private final Layer[] layers;
    final float[] last;      // x after the last layer  [N, C]
    final float[] ropeCos;   // angles of the rows' positions  [T, D/2]
    final float[] ropeSin;   //                         [T, D/2]
    final float[] projected; // a projection's output before the residual add, when nothing is inserted there  [N, C]
    // Training and no-grad passes (null in decoding): the final norm; its output is the hidden states.
    final float[] normF;     // rmsF(x)                 [N, C]
    final float[] rstdF;     //                         [N]
    private float[] logits;  //                         [N, V], made when first asked for
    // Training only (null otherwise): the backward pass's work buffers.
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

    private Activations(int b, int t, LlamaConfig c, Kind kind) {
        this.batch = b;
        this.seq = t;
        this.rows = b * t;
        this.kind = kind;
        boolean training = kind == Kind.TRAINING;
        boolean head = kind != Kind.DECODE;
        int n = rows;
        ids = new int[n];
        layers = new Layer[training ? c.numLayers() : 1];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new Layer(b, t, c, head);
        }
        last = new float[n * c.hiddenSize()];
        ropeCos = new float[t * c.headDim() / 2];
        ropeSin = new float[t * c.headDim() / 2];
        projected = new float[n * c.hiddenSize()];
        normF = head ? new float[n * c.hiddenSize()] : null;
        rstdF = head ? new float[n] : null;
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

    /**
     * For a pass over a batch of b sequences of t tokens ({@link Kind#TRAINING} or
     * {@link Kind#NO_GRAD}), with RoPE angles of positions 0..t−1.
     */
    static Activations batch(Kind kind, int b, int t, LlamaConfig c) {
        Activations acts = new Activations(b, t, c, kind);
        Rope.tables(acts.ropeCos, acts.ropeSin, t, c.headDim(), c.ropeTheta());
        return acts;
    }

    /** For decoding {@code rows} positions of one sequence; the caller fills the RoPE angles. */
    static Activations decode(int rows, LlamaConfig c) {
        return new Activations(1, rows, c, Kind.DECODE);
    }

    /** Whether these activations serve a pass of {@code kind} over b sequences of t tokens. */
    boolean fits(Kind kind, int b, int t) {
        return this.kind == kind && batch == b && seq == t;
    }

    /** The logits buffer [N, V], made on first use: a reward model never needs one. */
    float[] logits(int vocab) {
        if (logits == null) {
            logits = new float[rows * vocab];
        }
        return logits;
    }

    /** Layer {@code l}'s activations (outside training, the one set every layer uses). */
    Layer layer(int l) {
        return layers[kind == Kind.TRAINING ? l : 0];
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
