package io.gradus.core.llama;

import static io.gradus.api.kernel.MatmulLayout.AB;
import static io.gradus.api.kernel.MatmulLayout.ABT;
import static io.gradus.api.kernel.MatmulLayout.ATB;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Outputs;
import io.gradus.api.model.Sampling;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.Tuning;
import java.util.Arrays;
import java.util.List;

/**
 * Forward and backward passes of a {@link LlamaModel}, explicit per layer (llm.c style), every hot
 * loop a {@link KernelBackend} call.
 *
 * <p>Shape legend: B batch, T sequence, N = B·T token rows, C hidden size, H query heads, KV key/value
 * heads, D head size, F MLP width, V vocabulary. The model is logits = Wlm · rmsF(layers(embed(ids))),
 * its decoder layers those of {@link DecoderLayers} (the loop generation runs too), with attention
 * over the whole batch; rmsF(...) is the hidden state a score or value head reads. A training pass
 * keeps what the backward pass needs in its {@link Activations}; a no-grad pass has activations of
 * its own, so it never disturbs a training pass waiting for its backward pass. Gradients go only to
 * trainable parameters.
 */
public final class LlamaEngine implements ModelRunner {

    private final LlamaModel model;
    private final LlamaConfig config;
    private final KernelBackend kernels;
    private final DecoderLayers layers;
    private final DecoderLayers.Attention batchAttention;
    /** The tunings applied to the model, which {@link #inferBase} switches off. */
    private final List<Tuning> tunings;
    /** Who applied {@link #tunings}, for messages: the tuner's name, quoted, or words for "a tuner". */
    private final String tuner;
    private Activations acts;
    private Activations noGrad;
    /** Whether the last training pass computed logits (backward may then take a gradient on them). */
    private boolean trainedLogits;
    /** Whether training passes run the tunings in training mode (dropout); no-grad passes never do. */
    private boolean training;
    private Generator generator;

    public LlamaEngine(LlamaModel model, KernelBackend kernels) {
        this(model, kernels, List.of());
    }

    /** @param tunings the tunings applied to the model: {@link #inferBase} switches them off for its pass */
    public LlamaEngine(LlamaModel model, KernelBackend kernels, List<Tuning> tunings) {
        this(model, kernels, tunings, null);
    }

    /**
     * @param tunings the tunings applied to the model: {@link #inferBase} switches them off for its pass
     * @param tunerName the name of the tuner that applied them (a job's {@code tuner.name}), for messages
     */
    public LlamaEngine(LlamaModel model, KernelBackend kernels, List<Tuning> tunings, String tunerName) {
        this.tuner = tunerName == null ? "the tuner" : "the tuner '" + tunerName + "'";
        this.model = model;
        this.config = model.config();
        this.kernels = kernels;
        this.tunings = List.copyOf(tunings);
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

    @Override
    public LlamaModel model() {
        return model;
    }

    /**
     * Runs a training pass on a batch and returns its logits [N, V]. The returned array belongs to
     * the engine and is overwritten by the next training pass.
     */
    @Override
    public float[] forward(TokenBatch batch) {
        return train(batch, true).logits();
    }

    @Override
    public Outputs train(TokenBatch batch, boolean logits) {
        acts = prepared(acts, Activations.Kind.TRAINING, batch);
        trainedLogits = logits;
        return run(acts, logits);
    }

    /**
     * Switches the tunings to training behaviour (dropout) for training passes, or off. No-grad
     * passes and generation always run them in inference mode, as TRL disables dropout for the
     * reference and rollout passes: the same weights then give the same outputs in a rollout and in
     * the first training pass over it (a PPO ratio starts at 1).
     */
    public void setTraining(boolean training) {
        this.training = training;
        tunings.forEach(t -> t.setTraining(training));
    }

    @Override
    public Outputs infer(TokenBatch batch, boolean logits) {
        noGrad = prepared(noGrad, Activations.Kind.NO_GRAD, batch);
        return inInferenceMode(() -> run(noGrad, logits));
    }

    /** Runs {@code pass} with the tunings in inference mode, restoring the training mode after. */
    private <T> T inInferenceMode(java.util.function.Supplier<T> pass) {
        if (!training) {
            return pass.get();
        }
        tunings.forEach(t -> t.setTraining(false));
        try {
            return pass.get();
        } finally {
            tunings.forEach(t -> t.setTraining(true));
        }
    }

    @Override
    public Outputs inferBase(TokenBatch batch, boolean logits) {
        for (Tuning tuning : tunings) {
            if (!tuning.setEnabled(false)) {
                tunings.forEach(t -> t.setEnabled(true));
                throw new IllegalStateException(tuner + " changed the weights themselves (as full fine-tuning "
                        + "does), so its tuning cannot be switched off for a pass of the base model; take a snapshot "
                        + "of the initial weights instead (SessionContext.snapshot)");
            }
        }
        try {
            return infer(batch, logits);
        } finally {
            tunings.forEach(t -> t.setEnabled(true));
        }
    }

    @Override
    public Outputs infer(TokenBatch batch, boolean logits, WeightsSnapshot weights) {
        weights.swap();
        try {
            return infer(batch, logits);
        } finally {
            weights.swap();
        }
    }

    @Override
    public int[] generate(int[] prompt, Sampling sampling, int stopToken) {
        int needed = Math.min(prompt.length + sampling.maxNewTokens(), config.maxPositions());
        if (generator == null || generator.capacity() < needed) {
            generator = new Generator(model, kernels, needed);
        }
        return inInferenceMode(() -> generator.generate(prompt, sampling, stopToken, token -> {}));
    }

    /** {@code current} if it fits a pass of {@code kind} over {@code batch}, else new activations; the batch's ids copied in. */
    private Activations prepared(Activations current, Activations.Kind kind, TokenBatch batch) {
        int b = batch.batchSize();
        int t = batch.seqLen();
        if (t > config.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + t + " tokens is longer than the model's "
                    + config.maxPositions() + " positions");
        }
        Activations prepared = current != null && current.fits(kind, b, t) ? current : Activations.batch(kind, b, t, config);
        System.arraycopy(batch.inputIds(), 0, prepared.ids, 0, b * t);
        return prepared;
    }

    /** The pass itself: embeddings, the decoder layers, the final norm (the hidden states), the head if asked. */
    private Outputs run(Activations a, boolean logits) {
        int n = a.rows;
        int c = config.hiddenSize();
        kernels.embeddingForward(a.input(), model.embedTokens().values(), a.ids, n, c);
        layers.forward(a, batchAttention);
        kernels.rmsNormForward(a.normF, a.rstdF, a.last, model.finalNorm().values(), n, c, (float) config.rmsNormEps());
        if (!logits) {
            return new Outputs(null, a.normF);
        }
        float[] out = a.logits(config.vocabSize());
        kernels.matmul(ABT, out, a.normF, model.lmHead().values(), n, config.vocabSize(), c, false);
        return new Outputs(out, a.normF);
    }

    /**
     * Back-propagates {@code dLogits} [N, V] through the last training pass, adding into the gradients
     * of the trainable parameters (frozen ones are skipped, their inputs still get gradients).
     */
    @Override
    public void backward(float[] dLogits) {
        backward(dLogits, null);
    }

    /**
     * Back-propagates gradients on the last training pass's logits [N, V] and hidden states [N, C]
     * (either may be null): the hidden states' gradient is dLogits·Wlm + dHidden.
     */
    @Override
    public void backward(float[] dLogits, float[] dHidden) {
        if (acts == null) {
            throw new IllegalStateException("backward() needs a training pass first");
        }
        if (dLogits == null && dHidden == null) {
            throw new IllegalArgumentException("backward() needs a gradient on the logits, the hidden states or both");
        }
        if (dLogits != null && !trainedLogits) {
            throw new IllegalStateException("backward() got a gradient on logits the last training pass did not compute");
        }
        int n = acts.rows;
        int c = config.hiddenSize();
        int vocab = config.vocabSize();

        if (dLogits != null) {
            // logits = rmsF(x)·Wlmᵀ
            kernels.matmul(AB, acts.dNormF, dLogits, model.lmHead().values(), n, c, vocab, false);
            if (model.lmHead().trainable()) {
                kernels.matmul(ATB, model.lmHead().gradient(), dLogits, acts.normF, vocab, c, n, true);
            }
            if (dHidden != null) {
                kernels.add(acts.dNormF, dHidden, n * c);
            }
        } else {
            System.arraycopy(dHidden, 0, acts.dNormF, 0, n * c);
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
