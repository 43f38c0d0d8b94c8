package io.gradus.jobs;

import io.gradus.api.data.Example;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.train.PackedTokens;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Held-out loss: the mean next-token loss over the target tokens of examples, packed into windows. */
public final class Evaluation {

    private Evaluation() {}

    /**
     * @param maxWindows evaluate at most this many windows of {@code seqLen} tokens
     * @return the mean loss per target token, and how many target tokens it covered
     */
    public static Result loss(LlamaEngine engine, List<Example> examples, int seqLen, int maxWindows) {
        Map<String, Double> metrics = NextTokenLoss.evaluate(windows(examples, seqLen, maxWindows), engine);
        return new Result(metrics.get("loss"), metrics.get("targets").longValue());
    }

    /** The first {@code maxWindows} windows (one row of {@code seqLen} tokens each) of the examples packed end to end. */
    public static List<TokenBatch> windows(List<Example> examples, int seqLen, int maxWindows) {
        PackedTokens packed = PackedTokens.of(examples, 1, seqLen);
        int count = (int) Math.max(1, Math.min(maxWindows, packed.length() / seqLen));
        List<TokenBatch> windows = new ArrayList<>(count);
        for (int w = 0; w < count; w++) {
            windows.add(packed.next());
        }
        return windows;
    }

    /** A mean loss per target token over {@code targets} tokens. */
    public record Result(double loss, long targets) {}
}
