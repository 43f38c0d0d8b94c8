package io.gradus.itests.faulty;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueName;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** A third-party objective with a bug: its step always throws. */
@Component(service = Objective.class)
@TechniqueName("broken")
public final class BrokenObjective implements Objective<BrokenObjective.Config> {

    /** No settings. */
    public record Config() {}

    @Override
    public Class<Config> configType() {
        return Config.class;
    }

    @Override
    public String description() {
        return "An objective whose step always fails";
    }

    @Override
    public StepResult step(Config config, TokenBatch batch, ModelRunner runner, float gradScale) {
        throw new IllegalStateException("the broken objective cannot compute a loss");
    }

    @Override
    public Example encode(Config config, Map<String, Object> record, TextTokenizer tokenizer) {
        return Example.allTargets(tokenizer.encode(String.valueOf(record.get("text"))));
    }
}
