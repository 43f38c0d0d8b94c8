package io.gradus.testkit;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TensorFiles;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.util.Random;

/**
 * A tiny Llama with random weights, run by the Gradus engine on the pure-Java CPU kernels: the real
 * forward and backward passes a technique meets in a job, on a model small enough that a
 * finite-difference check of every parameter takes well under a second.
 *
 * <p>It is the {@link ModelRunner} an objective is handed in a job, and {@link #model()} is the
 * model a tuner is applied to. The engine looks the model's linear modules up at every pass, so
 * modules a tuner replaces after this object was made take part at once.
 */
public final class TinyLlama implements ModelRunner {

    /**
     * The widths of a tiny model.
     *
     * @param vocab vocabulary size V
     * @param hidden hidden width C
     * @param intermediate width of the SwiGLU MLP
     * @param layers number of decoder layers
     * @param heads query heads
     * @param kvHeads key/value heads (grouped-query attention when fewer than {@code heads})
     * @param headDim width of one head (even, for the rotary embedding)
     */
    public record Shape(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim) {

        /** Two layers, 4 query heads sharing 2 key/value heads of width 4, a vocabulary of 13. */
        public static final Shape DEFAULT = new Shape(13, 16, 24, 2, 4, 2, 4);

        LlamaConfig config() {
            return new LlamaConfig(vocab, hidden, intermediate, layers, heads, kvHeads, headDim, 1e-5, 10000.0, 64, false,
                    1, 2);
        }
    }

    private static final KernelBackend KERNELS = new CpuKernelBackend();

    private final LlamaModel model;
    private final LlamaEngine engine;

    private TinyLlama(LlamaModel model) {
        this.model = model;
        this.engine = new LlamaEngine(model, KERNELS);
    }

    /** A model of the {@link Shape#DEFAULT default shape} with weights drawn from N(0, 0.4²). */
    public static TinyLlama random(long seed) {
        return random(Shape.DEFAULT, 0.4, seed);
    }

    /**
     * A model of {@code shape} with every weight drawn from N(0, scale²) and norm weights 1. Weights
     * far larger than a trained model's keep every gradient well above float rounding, which is what
     * a finite-difference check needs.
     */
    public static TinyLlama random(Shape shape, double scale, long seed) {
        LlamaModel model = LlamaModel.initialize(shape.config(), seed);
        Random random = new Random(seed);
        for (Parameter p : model.parameters()) {
            float[] values = p.values();
            boolean norm = p.name().endsWith("norm.weight");
            for (int i = 0; i < values.length; i++) {
                values[i] = norm ? 1f : (float) (scale * random.nextGaussian());
            }
        }
        return new TinyLlama(model);
    }

    /**
     * The model, with Hugging Face's names ({@code model.layers.0.self_attn.k_proj}); it is an
     * {@link io.gradus.api.model.Model}, and {@link LlamaModel#save} writes it as a model folder.
     */
    public LlamaModel model() {
        return model;
    }

    /** {@code batchSize} rows of {@code seqLen} random token ids, each labelled with the next one. */
    public TokenBatch batch(int batchSize, int seqLen, long seed) {
        Random random = new Random(seed);
        int[] ids = new int[batchSize * seqLen];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(vocabSize());
        }
        return TokenBatch.nextToken(batchSize, seqLen, ids);
    }

    @Override
    public int vocabSize() {
        return model.config().vocabSize();
    }

    /** Logits of {@code batch}, B·T·V floats; the array is reused by the next pass, copy it to keep it. */
    @Override
    public float[] forward(TokenBatch batch) {
        return engine.forward(batch);
    }

    @Override
    public void backward(float[] dLogits) {
        engine.backward(dLogits);
    }

    @Override
    public KernelBackend kernels() {
        return KERNELS;
    }

    /** The host's safetensors reader and writer, as {@code Tuning.save} and {@code Tuner.load} are given it. */
    public static TensorFiles tensorFiles() {
        return new SafetensorsFiles();
    }
}
