package io.gradus.plugin.dpo;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.CompletionLogProbs;

/**
 * What the policy's logits say about a batch of pairs (chosen in even rows, rejected in odd ones):
 * per row the completion's summed log-probability log π(y|x) = Σ_t log π(y_t | x, y_&lt;t) over its
 * scored positions and their number, and the sums behind TRL's {@code logits/chosen} and
 * {@code logits/rejected}: over the completion positions, the mean logit over the vocabulary.
 *
 * @param logps [2P] summed completion log-probabilities
 * @param lengths [2P] scored positions per row
 */
record PolicyPass(double[] logps, int[] lengths, double chosenLogitSum, long chosenTokens,
        double rejectedLogitSum, long rejectedTokens) {

    /** The whole pass: log-probabilities, lengths and the logit sums; {@code tokenLogProbs} [B·T] is the caller's buffer. */
    static PolicyPass of(TokenBatch batch, float[] logits, float[] tokenLogProbs, KernelBackend kernels, int vocab) {
        double[] logps = logps(batch, logits, tokenLogProbs, kernels, vocab);
        double[] logitSums = new double[2];
        long[] tokens = new long[2];
        int[] labels = batch.labels();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] == TokenBatch.IGNORE) {
                continue;
            }
            int kind = (i / batch.seqLen()) % 2; // 0 chosen, 1 rejected
            double sum = 0;
            for (int j = i * vocab; j < (i + 1) * vocab; j++) {
                sum += logits[j];
            }
            logitSums[kind] += sum / vocab;
            tokens[kind]++;
        }
        return new PolicyPass(logps, CompletionLogProbs.count(batch), logitSums[0], tokens[0], logitSums[1],
                tokens[1]);
    }

    /** Per row, the completion's summed log-probability; {@code tokenLogProbs} [B·T] is overwritten on the way. */
    static double[] logps(TokenBatch batch, float[] logits, float[] tokenLogProbs, KernelBackend kernels, int vocab) {
        kernels.tokenLogProbs(logits, batch.batchSize() * batch.seqLen(), vocab, batch.labels(), tokenLogProbs, null);
        return CompletionLogProbs.sum(batch, tokenLogProbs);
    }
}
