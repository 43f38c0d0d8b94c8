package io.gradus.plugin.pretrain;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;

/**
 * The smallest real language model for objective tests: a bigram table, logits(position) =
 * W[input token]. Forward is a row gather, backward a row scatter-add into W's gradient.
 */
final class BigramRunner implements ModelRunner {

    final Parameter table;
    private final KernelBackend kernels;
    private final int vocab;
    private int[] lastInputs;

    BigramRunner(int vocab, KernelBackend kernels) {
        this.vocab = vocab;
        this.kernels = kernels;
        this.table = new Parameter("bigram.weight", new int[] {vocab, vocab}, new float[vocab * vocab]);
        table.setTrainable(true);
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public float[] forward(TokenBatch batch) {
        lastInputs = batch.inputIds().clone();
        float[] logits = new float[lastInputs.length * vocab];
        for (int i = 0; i < lastInputs.length; i++) {
            System.arraycopy(table.values(), lastInputs[i] * vocab, logits, i * vocab, vocab);
        }
        return logits;
    }

    @Override
    public void backward(float[] dLogits) {
        float[] grad = table.gradient();
        for (int i = 0; i < lastInputs.length; i++) {
            int row = lastInputs[i] * vocab;
            for (int j = 0; j < vocab; j++) {
                grad[row + j] += dLogits[i * vocab + j];
            }
        }
    }

    @Override
    public KernelBackend kernels() {
        return kernels;
    }
}
