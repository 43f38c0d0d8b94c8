package io.gradus.core.llama;

import static io.gradus.api.kernel.MatmulLayout.ABT;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Sampling;
import java.util.Arrays;
import java.util.Random;
import java.util.function.IntConsumer;

/**
 * Text generation with a key/value cache: the prompt is run once (prefill), then each new token
 * costs one position's forward pass, its keys and values appended to the cache. The decoder layers
 * are training's own ({@link DecoderLayers}), so whatever a tuner inserts or replaces runs here too.
 */
public final class Generator {

    private final LlamaModel model;
    private final LlamaConfig config;
    private final KernelBackend kernels;
    private final DecoderLayers layers;
    private final DecoderLayers.Attention cachedAttention = this::attendCached;
    private final int maxLength;
    private final float[][] keyCache;
    private final float[][] valueCache;
    private final float[] ropeCos;
    private final float[] ropeSin;
    // Work buffers, reused from token to token.
    private final float[] qRow;
    private final float[] attRow;
    private final float[] lastRow;
    private final float[] lastNorm;
    private final float[] lastRstd = new float[1];
    private final float[] nextLogits;
    /** The decoder layers' activations for the last call's number of tokens (one, while decoding). */
    private Activations acts;
    private int length;

    /** @param maxLength the longest prompt + generation this generator holds in its cache */
    public Generator(LlamaModel model, KernelBackend kernels, int maxLength) {
        this.model = model;
        this.config = model.config();
        this.kernels = kernels;
        this.layers = new DecoderLayers(model, kernels);
        this.maxLength = Math.min(maxLength, config.maxPositions());
        int kvDim = config.numKvHeads() * config.headDim();
        this.keyCache = new float[config.numLayers()][this.maxLength * kvDim];
        this.valueCache = new float[config.numLayers()][this.maxLength * kvDim];
        this.ropeCos = new float[this.maxLength * config.headDim() / 2];
        this.ropeSin = new float[this.maxLength * config.headDim() / 2];
        Rope.tables(ropeCos, ropeSin, this.maxLength, config.headDim(), config.ropeTheta());
        this.qRow = new float[config.numHeads() * config.headDim()];
        this.attRow = new float[config.numHeads() * config.headDim()];
        this.lastRow = new float[config.hiddenSize()];
        this.lastNorm = new float[config.hiddenSize()];
        this.nextLogits = new float[config.vocabSize()];
    }

    /**
     * Continues {@code prompt}, calling {@code onToken} for each new token, until {@code stopToken}
     * (which is emitted), {@code maxNewTokens}, or the cache is full.
     *
     * @return the new tokens
     */
    public int[] generate(int[] prompt, Sampling sampling, int stopToken, IntConsumer onToken) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt needs at least one token (e.g. the BOS token)");
        }
        if (prompt.length >= maxLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens; this generator holds "
                    + maxLength + " positions");
        }
        length = 0;
        Random random = new Random(sampling.seed());
        float[] logits = append(prompt);
        int[] produced = new int[sampling.maxNewTokens()];
        int count = 0;
        while (count < sampling.maxNewTokens()) {
            int next = choose(logits, sampling, random);
            produced[count++] = next;
            onToken.accept(next);
            if (next == stopToken || length >= maxLength) {
                break;
            }
            logits = append(new int[] {next});
        }
        return Arrays.copyOf(produced, count);
    }

    /**
     * Runs {@code tokens} at the next positions through the decoder layers (the training engine's
     * own loop), appending their keys and values to the cache, and returns the logits [V] of the
     * last one. The returned array belongs to the generator and is overwritten by the next call.
     */
    public float[] append(int[] tokens) {
        int n = tokens.length;
        if (length + n > maxLength) {
            throw new IllegalArgumentException("the cache holds " + maxLength + " positions; " + (length + n) + " needed");
        }
        int c = config.hiddenSize();
        int half = config.headDim() / 2;
        if (acts == null || acts.rows != n) {
            acts = Activations.decode(n, config);
        }
        // The rotary angles of positions length .. length + n − 1.
        System.arraycopy(ropeCos, length * half, acts.ropeCos, 0, n * half);
        System.arraycopy(ropeSin, length * half, acts.ropeSin, 0, n * half);
        kernels.embeddingForward(acts.input(), model.embedTokens().values(), tokens, n, c);
        layers.forward(acts, cachedAttention);
        length += n;
        System.arraycopy(acts.last, (n - 1) * c, lastRow, 0, c);
        kernels.rmsNormForward(lastNorm, lastRstd, lastRow, model.finalNorm().values(), 1, c,
                (float) config.rmsNormEps());
        kernels.matmul(ABT, nextLogits, lastNorm, model.lmHead().values(), 1, config.vocabSize(), c, false);
        return nextLogits;
    }

    /**
     * Attention against the cache: the new keys and values join it at positions length.., and new
     * token i attends to the cache up to and including its own position.
     */
    private void attendCached(int l, Activations.Layer a, Activations acts) {
        int n = acts.rows;
        int h = config.numHeads();
        int kv = config.numKvHeads();
        int d = config.headDim();
        System.arraycopy(a.k, 0, keyCache[l], length * kv * d, n * kv * d);
        System.arraycopy(a.v, 0, valueCache[l], length * kv * d, n * kv * d);
        for (int i = 0; i < n; i++) {
            System.arraycopy(a.q, i * h * d, qRow, 0, h * d);
            kernels.attentionDecode(attRow, qRow, keyCache[l], valueCache[l], length + i + 1, h, kv, d);
            System.arraycopy(attRow, 0, a.attOut, i * h * d, h * d);
        }
    }

    /** The most positions (prompt and new tokens) this generator holds. */
    public int capacity() {
        return maxLength;
    }

    /** Positions held in the cache. */
    public int length() {
        return length;
    }

    /** Picks the next token from {@code logits} by {@code sampling}. */
    static int choose(float[] logits, Sampling sampling, Random random) {
        int vocab = logits.length;
        if (sampling.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < vocab; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int keep = sampling.topK() > 0 ? Math.min(sampling.topK(), vocab) : vocab;
        double[] probs = new double[keep];
        double max = logits[order[0]] / sampling.temperature();
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            probs[i] = Math.exp(logits[order[i]] / sampling.temperature() - max);
            sum += probs[i];
        }
        // Nucleus: the smallest prefix of the sorted tokens whose probability reaches top-p.
        double cumulative = 0;
        int nucleus = keep;
        for (int i = 0; i < keep; i++) {
            cumulative += probs[i] / sum;
            if (cumulative >= sampling.topP()) {
                nucleus = i + 1;
                break;
            }
        }
        double total = 0;
        for (int i = 0; i < nucleus; i++) {
            total += probs[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < nucleus; i++) {
            r -= probs[i];
            if (r <= 0) {
                return order[i];
            }
        }
        return order[nucleus - 1];
    }
}
