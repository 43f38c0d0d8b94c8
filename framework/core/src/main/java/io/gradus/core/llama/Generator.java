package io.gradus.core.llama;

import static io.gradus.api.kernel.MatmulLayout.ABT;

import io.gradus.api.kernel.KernelBackend;
import java.util.Arrays;
import java.util.Random;
import java.util.function.IntConsumer;

/**
 * Text generation with a key/value cache: the prompt is run once (prefill), then each new token
 * costs one position's forward pass, its keys and values appended to the cache.
 */
public final class Generator {

    /**
     * How the next token is chosen.
     *
     * @param temperature 0 for greedy decoding (argmax); otherwise logits are divided by it
     * @param topK keep only the k most likely tokens (0 = all)
     * @param topP keep the smallest set of most likely tokens whose probability reaches p (1 = all)
     * @param seed seed of the sampler: the same seed gives the same text
     * @param maxNewTokens stop after this many new tokens
     */
    public record Sampling(double temperature, int topK, double topP, long seed, int maxNewTokens) {

        public Sampling {
            if (temperature < 0 || topK < 0 || !(topP > 0 && topP <= 1) || maxNewTokens < 0) {
                throw new IllegalArgumentException("sampling needs temperature >= 0, top-k >= 0, 0 < top-p <= 1 and "
                        + "max new tokens >= 0; got " + temperature + ", " + topK + ", " + topP + ", " + maxNewTokens);
            }
        }

        /** Greedy decoding of up to {@code maxNewTokens} tokens. */
        public static Sampling greedy(int maxNewTokens) {
            return new Sampling(0, 0, 1, 0, maxNewTokens);
        }
    }

    private final LlamaModel model;
    private final LlamaConfig config;
    private final KernelBackend kernels;
    private final int maxLength;
    private final float[][] keyCache;
    private final float[][] valueCache;
    private final float[] ropeCos;
    private final float[] ropeSin;
    private int length;

    /** @param maxLength the longest prompt + generation this generator holds in its cache */
    public Generator(LlamaModel model, KernelBackend kernels, int maxLength) {
        this.model = model;
        this.config = model.config();
        this.kernels = kernels;
        this.maxLength = Math.min(maxLength, config.maxPositions());
        int kvDim = config.numKvHeads() * config.headDim();
        this.keyCache = new float[config.numLayers()][this.maxLength * kvDim];
        this.valueCache = new float[config.numLayers()][this.maxLength * kvDim];
        this.ropeCos = new float[this.maxLength * config.headDim() / 2];
        this.ropeSin = new float[this.maxLength * config.headDim() / 2];
        Rope.tables(ropeCos, ropeSin, this.maxLength, config.headDim(), config.ropeTheta());
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
     * Runs {@code tokens} at the next positions, appending their keys and values to the cache, and
     * returns the logits [V] of the last one.
     */
    public float[] append(int[] tokens) {
        int n = tokens.length;
        if (length + n > maxLength) {
            throw new IllegalArgumentException("the cache holds " + maxLength + " positions; " + (length + n) + " needed");
        }
        int c = config.hiddenSize();
        int h = config.numHeads();
        int kv = config.numKvHeads();
        int d = config.headDim();
        int f = config.intermediateSize();
        float eps = (float) config.rmsNormEps();
        int half = d / 2;
        float[] cos = Arrays.copyOfRange(ropeCos, length * half, (length + n) * half);
        float[] sin = Arrays.copyOfRange(ropeSin, length * half, (length + n) * half);

        float[] x = new float[n * c];
        float[] norm = new float[n * c];
        float[] rstd = new float[n];
        float[] q = new float[n * h * d];
        float[] k = new float[n * kv * d];
        float[] v = new float[n * kv * d];
        float[] att = new float[n * h * d];
        float[] gate = new float[n * f];
        float[] up = new float[n * f];
        float[] hidden = new float[n * f];
        float[] attRow = new float[h * d];
        float[] qRow = new float[h * d];
        float[] projected = new float[n * c];
        kernels.embeddingForward(x, model.embedTokens().values(), tokens, n, c);
        for (int l = 0; l < config.numLayers(); l++) {
            LlamaModel.Layer w = model.layers().get(l);
            kernels.rmsNormForward(norm, rstd, x, w.inputNorm().values(), n, c, eps);
            model.linear(l, "self_attn.q_proj").forward(norm, q, n, kernels);
            model.linear(l, "self_attn.k_proj").forward(norm, k, n, kernels);
            model.linear(l, "self_attn.v_proj").forward(norm, v, n, kernels);
            kernels.rope(q, cos, sin, 1, n, h, d, false);
            kernels.rope(k, cos, sin, 1, n, kv, d, false);
            System.arraycopy(k, 0, keyCache[l], length * kv * d, n * kv * d);
            System.arraycopy(v, 0, valueCache[l], length * kv * d, n * kv * d);
            for (int i = 0; i < n; i++) {
                // Token i sees the cache up to and including its own position.
                System.arraycopy(q, i * h * d, qRow, 0, h * d);
                kernels.attentionDecode(attRow, qRow, keyCache[l], valueCache[l], length + i + 1, h, kv, d);
                System.arraycopy(attRow, 0, att, i * h * d, h * d);
            }
            model.linear(l, "self_attn.o_proj").forward(att, projected, n, kernels);
            kernels.add(x, projected, n * c);
            kernels.rmsNormForward(norm, rstd, x, w.postAttentionNorm().values(), n, c, eps);
            model.linear(l, "mlp.gate_proj").forward(norm, gate, n, kernels);
            model.linear(l, "mlp.up_proj").forward(norm, up, n, kernels);
            kernels.swigluForward(hidden, gate, up, n * f);
            model.linear(l, "mlp.down_proj").forward(hidden, projected, n, kernels);
            kernels.add(x, projected, n * c);
        }
        length += n;
        float[] last = Arrays.copyOfRange(x, (n - 1) * c, n * c);
        float[] lastNorm = new float[c];
        kernels.rmsNormForward(lastNorm, new float[1], last, model.finalNorm().values(), 1, c, eps);
        float[] logits = new float[config.vocabSize()];
        kernels.matmul(ABT, logits, lastNorm, model.lmHead().values(), 1, config.vocabSize(), c, false);
        return logits;
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
