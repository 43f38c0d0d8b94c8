package io.gradus.jobs.faulty;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import java.util.Map;

/** An objective whose step fails on its third call, after two good steps. */
public final class FaultyObjective implements Objective<FaultyObjective.Config> {

    /** No settings. */
    public record Config() {}

    private int steps;

    @Override
    public Class<Config> configType() {
        return Config.class;
    }

    @Override
    public String description() {
        return "An objective whose step fails";
    }

    @Override
    public StepResult step(Config config, TokenBatch batch, ModelRunner runner, float gradScale) {
        if (++steps > 2) {
            throw new ArithmeticException("the faulty objective's step broke");
        }
        return io.gradus.api.technique.NextTokenLoss.step(batch, runner, gradScale);
    }

    @Override
    public Example encode(Config config, Map<String, Object> record, TextTokenizer tokenizer) {
        return Example.allTargets(tokenizer.encode((String) record.get("text")));
    }
}
