package io.gradus.cli;

import io.gradus.api.kernel.Activation;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.kernel.MatmulLayout;
import io.gradus.api.kernel.Nf4;
import java.util.ArrayList;
import io.gradus.api.kernel.Nf4DoubleQuant;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * One call of every {@link KernelBackend} operation on random inputs of a training step's shapes
 * (the MEDIUM benchmark model of docs: 4×256 tokens, width 384, MLP 1024, 6 query and 2 key/value
 * heads of 64, vocabulary 2048), for {@code gradus kernels} (parity against the CPU backend) and
 * {@code gradus bench kernels} (speed per backend).
 *
 * <p>Each case owns its arrays, so repeated runs hand a backend the same arrays, as a training loop
 * does; outputs are the arrays a call writes. The backward cases run their forward pass first (it
 * computes what they need), and their rates count both. Rates count the causal half of attention's
 * products and the least memory traffic of the memory-bound kernels.
 */
public final class KernelCases {

    static final int BATCH = 4, SEQ = 256, TOKENS = BATCH * SEQ, DIM = 384, HIDDEN = 1024, HEADS = 6, KV_HEADS = 2,
            HEAD_DIM = 64, VOCAB = 2048, ELEMENTS = 1 << 20;

    private KernelCases() {}

    /** What one case does per call, and how it is measured. */
    public interface Case {
        String name();

        /** Floating-point operations per call (0 for memory-bound kernels). */
        double flops();

        /** Bytes a call must at least read and write. */
        double bytes();

        /** Runs the call; returns what it computed (its output arrays, or a scalar result in an array). */
        float[][] run(KernelBackend kernels);

        /** Restores the inputs that a call updates in place, so every run starts from the same state. */
        default void reset() {}
    }

    private record Simple(String name, double flops, double bytes, Call call, Runnable resetter) implements Case {
        @Override
        public float[][] run(KernelBackend kernels) {
            return call.run(kernels);
        }

        @Override
        public void reset() {
            resetter.run();
        }
    }

    @FunctionalInterface
    private interface Call {
        float[][] run(KernelBackend kernels);
    }

    private static Case of(String name, double flops, double bytes, Call call) {
        return new Simple(name, flops, bytes, call, () -> {});
    }

    /** A case whose call updates {@code state} in place: reset copies {@code initial} back first. */
    private static Case inPlace(String name, double flops, double bytes, float[][] state, Call call) {
        float[][] initial = new float[state.length][];
        for (int i = 0; i < state.length; i++) {
            initial[i] = state[i].clone();
        }
        return new Simple(name, flops, bytes, call, () -> {
            for (int i = 0; i < state.length; i++) {
                System.arraycopy(initial[i], 0, state[i], 0, state[i].length);
            }
        });
    }

    public static List<Case> all(long seed) {
        Random random = new Random(seed);
        int f = Float.BYTES;
        float[] x = randoms(random, TOKENS * DIM, 1f);
        float[] weightSquare = randoms(random, DIM * DIM, 0.05f);
        float[] mlp = randoms(random, HIDDEN * DIM, 0.05f);
        float[] wide = randoms(random, TOKENS * HIDDEN, 1f);
        float[] out = new float[TOKENS * HIDDEN];
        float[] dW = new float[HIDDEN * DIM];
        float[] dx = new float[TOKENS * DIM];

        Nf4 nf4 = Nf4.quantize(mlp, Nf4.DEFAULT_BLOCK_SIZE);
        Nf4DoubleQuant doubleQuant = Nf4DoubleQuant.compress(nf4);
        float[] dequantized = new float[HIDDEN * DIM];

        float[] logits = randoms(random, TOKENS * VOCAB, 2f);
        int[] targets = new int[TOKENS];
        for (int i = 0; i < TOKENS; i++) {
            targets[i] = i % 7 == 0 ? -100 : random.nextInt(VOCAB);
        }
        float[] dLogits = new float[TOKENS * VOCAB];
        float[] tokenLogProbs = new float[TOKENS];
        float[] entropies = new float[TOKENS];
        float[] dLogProbs = randoms(random, TOKENS, 1f);

        float[] norm = new float[TOKENS * DIM];
        float[] rstd = new float[TOKENS];
        float[] gain = randoms(random, DIM, 1f);
        float[] dGain = new float[DIM];
        float[] dNorm = randoms(random, TOKENS * DIM, 1f);

        int qSize = TOKENS * HEADS * HEAD_DIM, kvSize = TOKENS * KV_HEADS * HEAD_DIM;
        float[] q = randoms(random, qSize, 1f);
        float[] k = randoms(random, kvSize, 1f);
        float[] v = randoms(random, kvSize, 1f);
        float[] att = new float[BATCH * HEADS * SEQ * SEQ];
        float[] attOut = new float[qSize];
        float[] dOut = randoms(random, qSize, 1f);
        float[] dq = new float[qSize];
        float[] dk = new float[kvSize];
        float[] dv = new float[kvSize];
        float[] cos = new float[SEQ * HEAD_DIM / 2];
        float[] sin = new float[SEQ * HEAD_DIM / 2];
        for (int t = 0; t < SEQ; t++) {
            for (int i = 0; i < HEAD_DIM / 2; i++) {
                double angle = t * Math.pow(10000, -2.0 * i / HEAD_DIM);
                cos[t * HEAD_DIM / 2 + i] = (float) Math.cos(angle);
                sin[t * HEAD_DIM / 2 + i] = (float) Math.sin(angle);
            }
        }
        float[] rotated = q.clone();
        float[] decodeOut = new float[HEADS * HEAD_DIM];

        float[] gate = randoms(random, ELEMENTS, 2f);
        float[] up = randoms(random, ELEMENTS, 2f);
        float[] h = new float[ELEMENTS];
        float[] dh = randoms(random, ELEMENTS, 1f);
        float[] dGate = new float[ELEMENTS];
        float[] dUp = new float[ELEMENTS];

        float[] table = randoms(random, VOCAB * DIM, 1f);
        int[] ids = new int[TOKENS];
        for (int i = 0; i < TOKENS; i++) {
            ids[i] = random.nextInt(VOCAB);
        }
        float[] embedded = new float[TOKENS * DIM];
        float[] dTable = new float[VOCAB * DIM];

        float[] sum = randoms(random, ELEMENTS, 1f);
        float[] addend = randoms(random, ELEMENTS, 1f);
        float[] scaled = randoms(random, ELEMENTS, 1f);
        float[] param = randoms(random, ELEMENTS, 1f);
        float[] grad = randoms(random, ELEMENTS, 1f);
        float[] m1 = randoms(random, ELEMENTS, 0.1f);
        float[] m2 = randoms(random, ELEMENTS, 0.1f);
        for (int i = 0; i < ELEMENTS; i++) {
            m2[i] = Math.abs(m2[i]);
        }
        float[] dropped = new float[ELEMENTS];

        float[] activated = new float[ELEMENTS];
        float[] dActivation = new float[ELEMENTS];

        double causalPairs = (double) BATCH * HEADS * SEQ * (SEQ + 1) / 2;
        List<Case> cases = new ArrayList<>(List.of(
                of("matmul A·B " + TOKENS + "x" + DIM + "x" + HIDDEN, 2.0 * TOKENS * DIM * HIDDEN, 0,
                        kb -> { kb.matmul(MatmulLayout.AB, dx, wide, mlp, TOKENS, DIM, HIDDEN, false); return new float[][] {dx}; }),
                of("matmul A·Bᵀ " + TOKENS + "x" + HIDDEN + "x" + DIM, 2.0 * TOKENS * HIDDEN * DIM, 0,
                        kb -> { kb.matmul(MatmulLayout.ABT, out, x, mlp, TOKENS, HIDDEN, DIM, false); return new float[][] {out}; }),
                of("matmul Aᵀ·B " + HIDDEN + "x" + DIM + "x" + TOKENS, 2.0 * TOKENS * HIDDEN * DIM, 0,
                        kb -> { kb.matmul(MatmulLayout.ATB, dW, wide, x, HIDDEN, DIM, TOKENS, false); return new float[][] {dW}; }),
                of("matmul A·Bᵀ " + TOKENS + "x" + DIM + "x" + DIM, 2.0 * TOKENS * DIM * DIM, 0,
                        kb -> { kb.matmul(MatmulLayout.ABT, dx, x, weightSquare, TOKENS, DIM, DIM, false); return new float[][] {dx}; }),
                of("nf4 matmul A·Wᵀ " + TOKENS + "x" + HIDDEN + "x" + DIM, 2.0 * TOKENS * HIDDEN * DIM, 0,
                        kb -> { kb.nf4Matmul(MatmulLayout.ABT, out, x, nf4.packed(), nf4.absmax(), nf4.blockSize(), TOKENS, HIDDEN, DIM, false); return new float[][] {out}; }),
                of("nf4 matmul A·W " + TOKENS + "x" + DIM + "x" + HIDDEN, 2.0 * TOKENS * HIDDEN * DIM, 0,
                        kb -> { kb.nf4Matmul(MatmulLayout.AB, dx, wide, nf4.packed(), nf4.absmax(), nf4.blockSize(), TOKENS, DIM, HIDDEN, false); return new float[][] {dx}; }),
                of("nf4 dequantize " + HIDDEN * DIM, 0, HIDDEN * DIM * (0.5 + 4.0 / 64 + f),
                        kb -> { kb.nf4Dequantize(dequantized, nf4.packed(), nf4.absmax(), nf4.n(), nf4.blockSize()); return new float[][] {dequantized}; }),
                of("nf4 dq matmul A·Wᵀ " + TOKENS + "x" + HIDDEN + "x" + DIM, 2.0 * TOKENS * HIDDEN * DIM, 0,
                        kb -> { doubleQuant.matmul(kb, MatmulLayout.ABT, out, x, TOKENS, HIDDEN, DIM, false); return new float[][] {out}; }),
                of("nf4 dq matmul A·W " + TOKENS + "x" + DIM + "x" + HIDDEN, 2.0 * TOKENS * HIDDEN * DIM, 0,
                        kb -> { doubleQuant.matmul(kb, MatmulLayout.AB, dx, wide, TOKENS, DIM, HIDDEN, false); return new float[][] {dx}; }),
                of("nf4 dq dequantize " + HIDDEN * DIM, 0, HIDDEN * DIM * (doubleQuant.bytesPerElement() + f),
                        kb -> { doubleQuant.dequantize(kb, dequantized); return new float[][] {dequantized}; }),
                of("cross-entropy " + TOKENS + "x" + VOCAB, 0, 2.0 * TOKENS * VOCAB * f,
                        kb -> new float[][] {{(float) kb.crossEntropy(logits, TOKENS, VOCAB, targets, dLogits, 1f / TOKENS)}, dLogits}),
                of("token log-probs " + TOKENS + "x" + VOCAB, 0, 2.0 * TOKENS * VOCAB * f,
                        kb -> { kb.tokenLogProbs(logits, TOKENS, VOCAB, targets, tokenLogProbs, entropies);
                                return new float[][] {tokenLogProbs, entropies}; }),
                of("token log-probs backward " + TOKENS + "x" + VOCAB, 0, 2.0 * TOKENS * VOCAB * f,
                        kb -> { kb.tokenLogProbsBackward(dLogits, logits, TOKENS, VOCAB, targets, dLogProbs);
                                return new float[][] {dLogits}; }),
                of("rmsnorm forward " + TOKENS + "x" + DIM, 0, 2.0 * TOKENS * DIM * f,
                        kb -> { kb.rmsNormForward(norm, rstd, x, gain, TOKENS, DIM, 1e-5f); return new float[][] {norm, rstd}; }),
                inPlace("rmsnorm fwd+bwd " + TOKENS + "x" + DIM, 0, 6.0 * TOKENS * DIM * f, new float[][] {dx, dGain},
                        kb -> { kb.rmsNormForward(norm, rstd, x, gain, TOKENS, DIM, 1e-5f);
                                kb.rmsNormBackward(dx, dGain, dNorm, x, gain, rstd, TOKENS, DIM);
                                return new float[][] {dx, dGain}; }),
                inPlace("rope " + TOKENS + "x" + HEADS + "x" + HEAD_DIM, 0, 2.0 * qSize * f, new float[][] {rotated},
                        kb -> { kb.rope(rotated, cos, sin, BATCH, SEQ, HEADS, HEAD_DIM, false); return new float[][] {rotated}; }),
                of("attention forward", 4.0 * causalPairs * HEAD_DIM, 0,
                        kb -> { kb.attentionForward(attOut, att, q, k, v, BATCH, SEQ, HEADS, KV_HEADS, HEAD_DIM); return new float[][] {attOut, att}; }),
                inPlace("attention fwd+bwd", 12.0 * causalPairs * HEAD_DIM, 0, new float[][] {dq, dk, dv},
                        kb -> { kb.attentionForward(attOut, att, q, k, v, BATCH, SEQ, HEADS, KV_HEADS, HEAD_DIM);
                                kb.attentionBackward(dq, dk, dv, dOut, att, q, k, v, BATCH, SEQ, HEADS, KV_HEADS, HEAD_DIM);
                                return new float[][] {dq, dk, dv}; }),
                of("attention decode " + SEQ, 4.0 * HEADS * SEQ * HEAD_DIM, 0,
                        kb -> { kb.attentionDecode(decodeOut, q, k, v, SEQ, HEADS, KV_HEADS, HEAD_DIM); return new float[][] {decodeOut}; }),
                of("swiglu forward " + ELEMENTS, 0, 3.0 * ELEMENTS * f,
                        kb -> { kb.swigluForward(h, gate, up, ELEMENTS); return new float[][] {h}; }),
                of("swiglu backward " + ELEMENTS, 0, 5.0 * ELEMENTS * f,
                        kb -> { kb.swigluBackward(dGate, dUp, dh, gate, up, ELEMENTS); return new float[][] {dGate, dUp}; }),
                of("embedding forward " + TOKENS + "x" + DIM, 0, 2.0 * TOKENS * DIM * f,
                        kb -> { kb.embeddingForward(embedded, table, ids, TOKENS, DIM); return new float[][] {embedded}; }),
                inPlace("embedding backward " + TOKENS + "x" + DIM, 0, 3.0 * TOKENS * DIM * f, new float[][] {dTable},
                        kb -> { kb.embeddingBackward(dTable, x, ids, TOKENS, DIM); return new float[][] {dTable}; }),
                inPlace("add " + ELEMENTS, 0, 3.0 * ELEMENTS * f, new float[][] {sum},
                        kb -> { kb.add(sum, addend, ELEMENTS); return new float[][] {sum}; }),
                inPlace("scale " + ELEMENTS, 0, 2.0 * ELEMENTS * f, new float[][] {scaled},
                        kb -> { kb.scale(scaled, 0.5f, ELEMENTS); return new float[][] {scaled}; }),
                of("sum of squares " + ELEMENTS, 0, 1.0 * ELEMENTS * f,
                        kb -> new float[][] {{(float) kb.sumOfSquares(grad, ELEMENTS)}}),
                inPlace("adamw " + ELEMENTS, 0, 7.0 * ELEMENTS * f, new float[][] {param, m1, m2},
                        kb -> { kb.adamw(param, grad, m1, m2, ELEMENTS, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3); return new float[][] {param, m1, m2}; }),
                of("dropout " + ELEMENTS, 0, 2.0 * ELEMENTS * f,
                        kb -> { kb.dropout(dropped, addend, ELEMENTS, 0.1f, 42L); return new float[][] {dropped}; })));
        for (Activation fn : Activation.values()) {
            String name = fn.name().toLowerCase(Locale.ROOT);
            cases.add(of(name + " forward " + ELEMENTS, 0, 2.0 * ELEMENTS * f,
                    kb -> { kb.activationForward(fn, activated, gate, ELEMENTS); return new float[][] {activated}; }));
            cases.add(of(name + " backward " + ELEMENTS, 0, 3.0 * ELEMENTS * f,
                    kb -> { kb.activationBackward(fn, dActivation, dh, gate, ELEMENTS); return new float[][] {dActivation}; }));
        }
        return cases;
    }

    static float[] randoms(Random random, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * scale);
        }
        return x;
    }
}
