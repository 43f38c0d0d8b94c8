package io.gradus.jobs;

import io.gradus.api.data.Example;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.train.PackedTokens;
import java.util.List;

/** Held-out loss: the mean next-token loss over the target tokens of examples, packed into windows. */
public final class Evaluation {

    private Evaluation() {}

    /**
     * @param maxWindows evaluate at most this many windows of {@code seqLen} tokens
     * @return the mean loss per target token, and how many target tokens it covered
     */
    public static Result loss(LlamaEngine engine, KernelBackend kernels, List<Example> examples, int seqLen, int maxWindows) {
        PackedTokens packed = PackedTokens.of(examples, 1, seqLen);
        int windows = (int) Math.max(1, Math.min(maxWindows, packed.length() / seqLen));
        double sum = 0;
        long targets = 0;
        for (int w = 0; w < windows; w++) {
            TokenBatch batch = packed.next();
            float[] logits = engine.forward(batch);
            sum += kernels.crossEntropy(logits, seqLen, engine.vocabSize(), batch.labels(), null, 1f);
            targets += batch.countLabels();
        }
        return new Result(targets == 0 ? Double.NaN : sum / targets, targets);
    }

    /** A mean loss per target token over {@code targets} tokens. */
    public record Result(double loss, long targets) {}
}
