package io.gradus.api.model;

import io.gradus.api.kernel.KernelBackend;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Runs the model being trained on behalf of an objective. Provided by the trainer.
 *
 * <p>Two kinds of pass over a batch. A <em>training</em> pass ({@link #train}, {@link #forward})
 * keeps every layer's activations, and the following {@link #backward} consumes them and accumulates
 * into the gradients of the trainable parameters. A <em>no-grad</em> pass ({@link #infer}) keeps
 * nothing for a backward pass and runs on buffers of its own, so it may come between a training pass
 * and its backward pass (a reference model's log-probabilities, PPO's old log-probabilities) without
 * disturbing them.
 *
 * <p>The methods added in 1.2 have defaults that refuse, for runners written against 1.0 (test
 * doubles); the trainer's runner implements them all.
 */
@ProviderType
public interface ModelRunner {

    /** Vocabulary size V: the width of a row of logits. */
    int vocabSize();

    /** Runs a training pass and returns logits, B*T*V floats, row-major (position-major, then vocab). */
    float[] forward(TokenBatch batch);

    /**
     * Back-propagates {@code dLogits} (same layout as the logits of the last training pass) and adds
     * the result into the trainable parameters' gradients.
     */
    void backward(float[] dLogits);

    /** The kernels of this run; objectives compute their losses with them. */
    KernelBackend kernels();

    /** The model this runner runs: its parameters, and its {@link Model#scoreHead() score head} if it has one. */
    default Model model() {
        throw unsupported("model()");
    }

    /** Width C of the hidden states. */
    default int hiddenSize() {
        return model().hiddenSize();
    }

    /**
     * A training pass: keeps the activations {@link #backward(float[], float[])} needs. With
     * {@code logits} false the pass stops at the final norm (a reward model never pays for the N×V
     * output product) and {@link Outputs#logits()} is null.
     *
     * @throws IllegalStateException when logits are asked of a model without a language-modelling head
     */
    default Outputs train(TokenBatch batch, boolean logits) {
        throw unsupported("train()");
    }

    /**
     * Back-propagates gradients on the outputs of the last training pass: on its logits, on its
     * hidden states, or both (a value head beside the policy's logits); either may be null, not both.
     */
    default void backward(float[] dLogits, float[] dHidden) {
        if (dHidden != null) {
            throw unsupported("backward() of hidden states");
        }
        backward(dLogits);
    }

    /** A no-grad pass with the weights as they train: nothing is kept, the training pass is untouched. */
    default Outputs infer(TokenBatch batch, boolean logits) {
        throw unsupported("infer()");
    }

    /**
     * A no-grad pass of the base model: every tuning's additions switched off for the pass (a LoRA
     * adapter, bottleneck adapters), without a copy of the weights; the reference model of DPO and
     * PPO when the job starts from a fresh adapter.
     *
     * @throws IllegalStateException naming the tuner when its tuning cannot be switched off (full
     *     fine-tuning changes the weights themselves: use a {@link WeightsSnapshot})
     */
    default Outputs inferBase(TokenBatch batch, boolean logits) {
        throw unsupported("inferBase()");
    }

    /** A no-grad pass computing with the snapshot's frozen values in place of its parameters' live ones. */
    default Outputs infer(TokenBatch batch, boolean logits, WeightsSnapshot weights) {
        throw unsupported("infer() with a snapshot");
    }

    /**
     * Continues {@code prompt} from the current weights with a key/value cache (the training pass's
     * own layer loop, so whatever a tuner changed applies), until {@code stopToken} (which is
     * returned as the last token), {@link Sampling#maxNewTokens()}, or the model's positions run out.
     *
     * @return the new tokens, without the prompt
     */
    default int[] generate(int[] prompt, Sampling sampling, int stopToken) {
        throw unsupported("generate()");
    }

    private UnsupportedOperationException unsupported(String what) {
        return new UnsupportedOperationException(getClass().getSimpleName() + " does not provide " + what
                + " (a ModelRunner of API 1.0)");
    }
}
