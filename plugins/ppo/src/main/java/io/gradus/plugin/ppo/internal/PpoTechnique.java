package io.gradus.plugin.ppo.internal;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Batching;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.plugin.ppo.PpoConfig;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code ppo} objective: reinforcement learning from a reward model with Proximal Policy
 * Optimization, as TRL's {@code PPOTrainer} runs it (Ziegler et al. 2019; Ouyang et al. 2022). The
 * job's data are prompts ({@link PromptData}); each rollout phase of the trainer's loop generates,
 * scores and computes advantages ({@link PpoSession}), and the optimizer steps that follow train the
 * policy and its value head on them.
 */
@Component(service = Objective.class)
@TechniqueName("ppo")
public final class PpoTechnique implements Objective<PpoConfig> {

    @Override
    public Class<PpoConfig> configType() {
        return PpoConfig.class;
    }

    @Override
    public String description() {
        return "PPO: generate from the policy, score with a reward model, clipped policy and value losses (TRL's PPOTrainer)";
    }

    /** Prompts are groups of one sequence: each stays whole in its row, padded, never packed. */
    @Override
    public Batching batching(PpoConfig config) {
        return Batching.GROUPS;
    }

    @Override
    public SequenceGroup encodeGroup(PpoConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        return SequenceGroup.of(PromptData.prompt(record, tokenizer));
    }

    /** The record's prompt, as the model reads it; no token of it is a target. */
    @Override
    public Example encode(PpoConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        return PromptData.prompt(record, tokenizer);
    }

    @Override
    public ObjectiveSession<PpoConfig> session(PpoConfig config, SessionContext context) {
        return new PpoSession(config, context);
    }

    /** PPO trains on what its session collects: there is no step on the job's data alone. */
    @Override
    public StepResult step(PpoConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
        throw new TechniqueException("ppo trains on the rollouts its session collects; it runs in a job's session only");
    }
}
