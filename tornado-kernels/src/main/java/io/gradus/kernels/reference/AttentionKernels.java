package io.gradus.kernels.reference;

import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * Causal scaled-dot-product attention with grouped-query heads, in the llm.c style: the forward pass
 * keeps the softmax probabilities for the backward pass.
 *
 * <p>Shapes (B batch, T seq, H query heads, KV key/value heads, D head size, G = H/KV):
 * q, out [B, T, H, D]; k, v [B, T, KV, D]; att [B, H, T, T]. Query head h reads key/value head h/G.
 */
public final class AttentionKernels {

    private AttentionKernels() {}

    /**
     * Query rows [from, to) of the flattened (b, h, t) index: out = softmax(q·kᵀ/√D + causal mask)·v.
     */
    public static void forward(float[] out, float[] att, float[] q, float[] k, float[] v, int seq, int heads,
            int kvHeads, int headDim, int from, int to) {
        float scale = 1f / (float) Math.sqrt(headDim);
        int group = heads / kvHeads;
        for (@Parallel int at = 0; at < to - from; at++) {
            int index = from + at;
            int t = index % seq;
            int h = (index / seq) % heads;
            int b = index / (seq * heads);
            int kvh = h / group;
            int qBase = ((b * seq + t) * heads + h) * headDim;
            int attBase = ((b * heads + h) * seq + t) * seq;

            float max = Float.NEGATIVE_INFINITY;
            for (int s = 0; s <= t; s++) {
                int kBase = ((b * seq + s) * kvHeads + kvh) * headDim;
                float dot = 0f;
                for (int i = 0; i < headDim; i++) {
                    dot += q[qBase + i] * k[kBase + i];
                }
                float score = dot * scale;
                att[attBase + s] = score;
                max = Math.max(max, score);
            }
            float sum = 0f;
            for (int s = 0; s <= t; s++) {
                float e = (float) Math.exp(att[attBase + s] - max);
                att[attBase + s] = e;
                sum += e;
            }
            float inv = 1f / sum;
            for (int s = 0; s < seq; s++) {
                att[attBase + s] = s <= t ? att[attBase + s] * inv : 0f;
            }
            for (int i = 0; i < headDim; i++) {
                out[qBase + i] = 0f;
            }
            for (int s = 0; s <= t; s++) {
                int vBase = ((b * seq + s) * kvHeads + kvh) * headDim;
                float p = att[attBase + s];
                for (int i = 0; i < headDim; i++) {
                    out[qBase + i] += p * v[vBase + i];
                }
            }
        }
    }

    /**
     * Backward for groups [from, to) of the flattened (b, kvh) index, so that no two iterations
     * write the same dk/dv rows. For each query head h of the group and query position t:
     * dAtt[s] = dOut[t]·v[s]; dScore[s] = att[s]·(dAtt[s] − Σ att·dAtt) (softmax backward);
     * dq[t] += dScore·k/√D; dk[s] += dScore[s]·q[t]/√D; dv[s] += att[s]·dOut[t].
     *
     * @param scratch at least seq floats per group index in [from, to): the dScore row
     */
    public static void backward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] att, float[] q, float[] k,
            float[] v, float[] scratch, int seq, int heads, int kvHeads, int headDim, int from, int to) {
        float scale = 1f / (float) Math.sqrt(headDim);
        int group = heads / kvHeads;
        for (@Parallel int at = 0; at < to - from; at++) {
            int index = from + at;
            int b = index / kvHeads;
            int kvh = index % kvHeads;
            int rowBase = index * seq;
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t = 0; t < seq; t++) {
                    int qBase = ((b * seq + t) * heads + h) * headDim;
                    int attBase = ((b * heads + h) * seq + t) * seq;
                    float weighted = 0f;
                    for (int s = 0; s <= t; s++) {
                        int vBase = ((b * seq + s) * kvHeads + kvh) * headDim;
                        float dAtt = 0f;
                        for (int i = 0; i < headDim; i++) {
                            dAtt += dOut[qBase + i] * v[vBase + i];
                        }
                        scratch[rowBase + s] = dAtt;
                        weighted += att[attBase + s] * dAtt;
                    }
                    for (int s = 0; s <= t; s++) {
                        float p = att[attBase + s];
                        float dScore = p * (scratch[rowBase + s] - weighted) * scale;
                        int kvBase = ((b * seq + s) * kvHeads + kvh) * headDim;
                        for (int i = 0; i < headDim; i++) {
                            dq[qBase + i] += dScore * k[kvBase + i];
                            dk[kvBase + i] += dScore * q[qBase + i];
                            dv[kvBase + i] += p * dOut[qBase + i];
                        }
                    }
                }
            }
        }
    }

    /**
     * Heads [from, to) of one query over a cache of {@code length} positions: out = softmax(q·kᵀ/√D)·v.
     *
     * @param scores at least length floats per head in [from, to)
     */
    public static void decode(float[] out, float[] q, float[] kCache, float[] vCache, float[] scores, int length,
            int heads, int kvHeads, int headDim, int from, int to) {
        float scale = 1f / (float) Math.sqrt(headDim);
        int group = heads / kvHeads;
        for (@Parallel int at = 0; at < to - from; at++) {
            int h = from + at;
            int kvh = h / group;
            int qBase = h * headDim;
            int sBase = h * length;
            float max = Float.NEGATIVE_INFINITY;
            for (int s = 0; s < length; s++) {
                int kBase = (s * kvHeads + kvh) * headDim;
                float dot = 0f;
                for (int i = 0; i < headDim; i++) {
                    dot += q[qBase + i] * kCache[kBase + i];
                }
                scores[sBase + s] = dot * scale;
                max = Math.max(max, dot * scale);
            }
            float sum = 0f;
            for (int s = 0; s < length; s++) {
                float e = (float) Math.exp(scores[sBase + s] - max);
                scores[sBase + s] = e;
                sum += e;
            }
            for (int i = 0; i < headDim; i++) {
                out[qBase + i] = 0f;
            }
            for (int s = 0; s < length; s++) {
                float p = scores[sBase + s] / sum;
                int vBase = (s * kvHeads + kvh) * headDim;
                for (int i = 0; i < headDim; i++) {
                    out[qBase + i] += p * vCache[vBase + i];
                }
            }
        }
    }
}
