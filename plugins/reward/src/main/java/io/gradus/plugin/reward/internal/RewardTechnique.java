package io.gradus.plugin.reward.internal;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.OutputHead;
import io.gradus.api.model.ScoreHead;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Batching;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.ScalarHead;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.plugin.reward.PreferenceData;
import io.gradus.plugin.reward.RewardConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code reward} objective: trains a sequence classifier with one label (transformers'
 * {@code LlamaForSequenceClassification}) to score the chosen completion of a preference pair above
 * the rejected one, with the Bradley–Terry loss ({@link BradleyTerry}), as TRL's
 * {@code RewardTrainer}. Each pair's two sequences go through the model in one pass, in adjacent rows;
 * the score of a sequence is the head on the final hidden state at its last real token. The metrics
 * of a step come from its forward pass, before its update (step 1 reports the model as it started).
 */
@Component(service = Objective.class)
@TechniqueName("reward")
public final class RewardTechnique implements Objective<RewardConfig> {

    @Override
    public Class<RewardConfig> configType() {
        return RewardConfig.class;
    }

    @Override
    public String description() {
        return "Reward model: Bradley-Terry loss on preference pairs, a score head on the last token";
    }

    @Override
    public OutputHead outputHead(RewardConfig config) {
        return OutputHead.SEQUENCE_SCORE;
    }

    @Override
    public Batching batching(RewardConfig config) {
        return Batching.GROUPS;
    }

    @Override
    public SequenceGroup encodeGroup(RewardConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        return PreferenceData.pair(record, tokenizer);
    }

    /** A single sequence to score (not a training record): text, prompt + completion, messages or input ids. */
    @Override
    public Example encode(RewardConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        return PreferenceData.single(record, tokenizer);
    }

    /** The head must train: a fresh one is random, and a tuner that freezes it would train nothing that scores. */
    @Override
    public ObjectiveSession<RewardConfig> session(RewardConfig config, SessionContext context) {
        ScoreHead head = context.model().scoreHead().orElseThrow(() -> new TechniqueException(
                "the model has no score head: the reward objective trains a sequence classifier"));
        if (!head.weight().trainable()) {
            throw new TechniqueException("the tuner leaves the score head (" + ScoreHead.NAME + ") frozen; a reward "
                    + "model's head must train (use full fine-tuning or LoRA, which trains it as PEFT's modules_to_save)");
        }
        return new ObjectiveSession<>() {
            @Override
            public StepResult step(RewardConfig cfg, TokenBatch batch, ModelRunner runner, float gradScale) {
                return RewardTechnique.this.step(cfg, batch, runner, gradScale);
            }

            @Override
            public Map<String, Double> evaluate(RewardConfig cfg, List<TokenBatch> heldOut, ModelRunner runner) {
                return RewardTechnique.evaluate(cfg, heldOut, runner);
            }
        };
    }

    @Override
    public StepResult step(RewardConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
        ScoreHead head = head(runner, batch);
        float[] hidden = runner.train(batch, false).hidden();
        ScalarHead scores = new ScalarHead(head.weight(), batch.lastTokens(head.padTokenId()));
        BradleyTerry.Result result = BradleyTerry.of(scores.forward(hidden, runner.kernels()),
                batch.groups().value(PreferenceData.MARGIN), config.centering(), gradScale);
        float[] dHidden = new float[hidden.length];
        scores.backward(result.dScores(), dHidden, runner.kernels());
        runner.backward(null, dHidden);
        return new StepResult(result.loss(), batch.groupCount(), result.metrics());
    }

    /** TRL's held-out {@code loss}, {@code accuracy} and {@code margin} over every held-out pair, on no-grad passes. */
    static Map<String, Double> evaluate(RewardConfig config, List<TokenBatch> heldOut, ModelRunner runner) {
        double loss = 0;
        double accuracy = 0;
        double margin = 0;
        int pairs = 0;
        for (TokenBatch batch : heldOut) {
            ScoreHead head = head(runner, batch);
            float[] hidden = runner.infer(batch, false).hidden();
            float[] scores = new ScalarHead(head.weight(), batch.lastTokens(head.padTokenId())).forward(hidden,
                    runner.kernels());
            BradleyTerry.Result result = BradleyTerry.of(scores, batch.groups().value(PreferenceData.MARGIN),
                    config.centering(), 1f);
            int n = batch.groupCount();
            loss += result.loss() * n;
            accuracy += result.metrics().get("accuracy") * n;
            margin += result.metrics().get("margin") * n;
            pairs += n;
        }
        Map<String, Double> metrics = new HashMap<>();
        metrics.put("loss", loss / pairs);
        metrics.put("accuracy", accuracy / pairs);
        metrics.put("margin", margin / pairs);
        metrics.put("pairs", (double) pairs);
        return metrics;
    }

    private static ScoreHead head(ModelRunner runner, TokenBatch batch) {
        if (batch.groups() == null || batch.groups().size() != 2) {
            throw new TechniqueException("the reward objective trains on pairs: batches of groups of two sequences");
        }
        return runner.model().scoreHead().orElseThrow(() -> new TechniqueException(
                "the model has no score head: the reward objective trains a sequence classifier"));
    }
}
