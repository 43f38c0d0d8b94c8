package io.gradus.plugin.ppo.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueException;
import io.gradus.plugin.ppo.PpoConfig;
import io.gradus.testkit.GradientCheck;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A PPO session on real models: one rollout and one PPO step against the PyTorch rendering of
 * {@code ppo_reference.py} ({@code rollout.json}: a tiny Llama with LoRA as the policy, its base as the
 * reference, a value head, a sequence classifier as the reward model), and the gradients of the value
 * head and of the policy loss through LoRA against finite differences.
 */
class PpoSessionTest {

    @Test
    @DisplayName("a rollout (log-probs at T, reference, values, scores, EOS penalty, advantages) and a PPO step match PyTorch")
    void matchesPyTorch() throws Exception {
        GoldenModels models = new GoldenModels(7, 1);
        JsonNode golden = models.golden;
        PpoConfig config = models.config();
        PpoSession session = new PpoSession(config, models.context);
        GoldenModels.copy(golden.get("value_head0"), session.valueHead().values());
        List<Rollout.Row> rows = models.rows();
        ObjectiveSession.Collected collected = session.assess(config, rows, golden.get("seq_len").asInt(), rows.size(),
                models.engine, 0);

        assertThat(collected.optimizerSteps()).isEqualTo(1);
        for (int b = 0; b < rows.size(); b++) {
            Rollout.Row row = rows.get(b);
            assertClose(row.logProbs, golden.at("/logprobs/" + b), 2e-5, "log π_old of row " + b);
            assertClose(row.refLogProbs, golden.at("/ref_logprobs/" + b), 2e-5, "log π_ref of row " + b);
            assertClose(row.values, golden.at("/values/" + b), 2e-5, "values of row " + b);
            assertThat(row.score).as("score of row %d, penalty included", b)
                    .isCloseTo(golden.at("/rollout/scores/" + b).asDouble(), within(2e-5));
            assertClose(row.returns, golden.at("/rollout/returns/" + b), 1e-4, "returns of row " + b);
            assertClose(row.advantages, golden.at("/rollout/advantages/" + b), 1e-4, "advantages of row " + b);
        }
        golden.at("/rollout/metrics").fields().forEachRemaining(metric -> assertThat(collected.metrics().get(metric.getKey()))
                .as(metric.getKey()).isCloseTo(metric.getValue().asDouble(), within(1e-4)));
        assertThat(collected.metrics().get("val/num_eos_tokens")).isEqualTo(2.0);
        assertThat(collected.metrics().get("objective/kl_coef")).isEqualTo(config.klCoef());

        // The step, after the policy and the value head moved: every row in one micro-batch.
        models.setAdapter("adapter1");
        GoldenModels.copy(golden.get("value_head1"), session.valueHead().values());
        List<Parameter> trained = new ArrayList<>(models.tuning.trainableParameters());
        trained.add(session.valueHead());
        trained.forEach(p -> Arrays.fill(p.gradient(), 0f));
        TokenBatch batch = session.nextCollected(config);
        StepResult step = session.step(config, batch, models.engine, 1f);
        assertThat(step.loss()).isCloseTo(golden.get("loss").asDouble(), within(2e-5));
        assertThat(step.tokens()).isEqualTo(8);
        golden.get("losses").fields().forEachRemaining(metric -> assertThat(step.metrics().get(metric.getKey()))
                .as(metric.getKey()).isCloseTo(metric.getValue().asDouble(), within(2e-5)));
        for (Parameter p : trained) {
            JsonNode expected = golden.at("/gradients/" + p.name().replace("/", "~1"));
            double max = 0;
            for (int i = 0; i < p.size(); i++) {
                max = Math.max(max, Math.abs(p.gradient()[i] - expected.get(i).asDouble()));
            }
            assertThat(max).as("max |Δ| of the gradient of %s", p.name()).isLessThan(2e-5);
        }
    }

    @Test
    @DisplayName("the gradients of the policy loss through LoRA, and of the whole loss in the value head and LoRA, match finite differences")
    void gradientsMatchFiniteDifferences() throws Exception {
        for (double vfCoef : new double[] {0.0, 0.5}) {
            GoldenModels models = new GoldenModels(7, 1);
            PpoConfig base = models.config();
            PpoConfig config = new PpoConfig("reward", null, base.temperature(), base.missingEosPenalty(), base.klCoef(),
                    base.klEstimator(), null, null, base.gamma(), base.lam(), 1, 1, base.cliprange(), base.cliprangeValue(),
                    vfCoef, "base", 0);
            PpoSession session = new PpoSession(config, models.context);
            GoldenModels.copy(models.golden.get("value_head0"), session.valueHead().values());
            List<Rollout.Row> rows = models.rows();
            session.assess(config, rows, models.golden.get("seq_len").asInt(), rows.size(), models.engine, 0);
            models.setAdapter("adapter1");
            GoldenModels.copy(models.golden.get("value_head1"), session.valueHead().values());
            TokenBatch batch = session.nextCollected(config);
            List<Parameter> checked = new ArrayList<>(models.tuning.trainableParameters());
            if (vfCoef > 0) {
                checked.add(session.valueHead());
            }
            List<GradientCheck.Mismatch> mismatches = GradientCheck.DEFAULT.withSamples(4).withStep(1e-3)
                    .check(checked, backward -> session.step(config, batch, models.engine, 1f).loss());
            assertThat(mismatches).as("vfCoef %s", vfCoef).isEmpty();
        }
    }

    @Test
    @DisplayName("a rollout draws the same responses again from the same seed and weights, and others from another seed")
    void collectsDeterministically() throws Exception {
        List<List<int[]>> responses = new ArrayList<>();
        for (long seed : new long[] {7, 7, 8}) {
            GoldenModels models = new GoldenModels(seed, 2);
            PpoConfig config = models.config();
            PpoSession session = new PpoSession(config, models.context);
            session.collect(config, prompts(), models.engine);
            responses.add(session.rollout().rows.stream().map(r -> r.response).toList());
            assertThat(session.rollout().rows).as("numMiniBatches × gradAccumulation batches of prompts").hasSize(2 * 3);
            assertThat(session.rollout().schedule).as("one epoch of two micro-batches").hasSize(2);
        }
        assertThat(responses.get(1)).usingRecursiveComparison().isEqualTo(responses.get(0));
        assertThat(responses.get(2)).usingRecursiveComparison().isNotEqualTo(responses.get(0));
        assertThat(responses.getFirst()).allSatisfy(r -> assertThat(r.length).isBetween(1, 6));
    }

    @Test
    @DisplayName("the session's state restores the rollout, β and the schedule exactly")
    void stateRoundTrips() throws Exception {
        GoldenModels models = new GoldenModels(7, 1);
        PpoConfig config = new PpoConfig("reward", 5, 0.7, null, 0.1, "k1", 0.5, 100, 1.0, 0.95, 2, 1, 0.2, 0.2, 0.1,
                "base", 2);
        PpoSession session = new PpoSession(config, models.context);
        session.collect(config, prompts(), models.engine);
        session.nextCollected(config);
        var json = GoldenModels.JSON;
        Map<String, Object> written = json.readValue(json.writeValueAsString(session.state()),
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
        PpoSession restored = new PpoSession(config, new GoldenModels(7, 1).context);
        restored.restore(written);
        assertThat(json.writeValueAsString(restored.state())).isEqualTo(json.writeValueAsString(session.state()));
        assertThat(((Number) written.get("kl_coef")).doubleValue()).as("the adaptive controller moved β").isNotEqualTo(0.1);
        assertThat(restored.nextCollected(config).inputIds()).isEqualTo(session.nextCollected(config).inputIds());
    }

    @Test
    @DisplayName("a job without a reward model, or with a causal LM as one, is refused with the reason")
    void refusesAMissingRewardModel() throws Exception {
        GoldenModels models = new GoldenModels(7, 1);
        assertThatThrownBy(() -> new PpoSession(PpoConfig.of(null), models.context)).isInstanceOf(TechniqueException.class)
                .hasMessageContaining("ppo needs config.rewardModel");
        var causal = new io.gradus.core.train.TrainingContext(7, models.engine, models.tuning.trainableParameters(),
                path -> models.engine, 1, new GoldenModels.EosOnly());
        assertThatThrownBy(() -> new PpoSession(PpoConfig.of("policy"), causal)).isInstanceOf(TechniqueException.class)
                .hasMessageContaining("not a sequence classifier");
    }

    @Test
    @DisplayName("reference: base is refused before step 1 when the policy does not start as its base; initial takes it")
    void baseReferenceOnlyWhenThePolicyStartsAsTheBase() throws Exception {
        // adapter0 has B ≠ 0: the policy starts elsewhere than the base, as a job from a saved adapter does.
        List<TokenBatch> prompts = List.of(prompts().get());
        PpoConfig base = PpoConfig.of("reward");
        GoldenModels started = new GoldenModels(7, 1);
        assertThatThrownBy(() -> new PpoSession(base, started.context).prepare(base, prompts, started.engine))
                .isInstanceOf(TechniqueException.class).hasMessageContaining("set the objective's reference: initial");

        PpoConfig initial = new PpoConfig("reward", null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, "initial", null);
        GoldenModels kept = new GoldenModels(7, 1);
        new PpoSession(initial, kept.context).prepare(initial, prompts, kept.engine);

        GoldenModels fresh = new GoldenModels(7, 1);
        for (Parameter p : fresh.tuning.trainableParameters()) {
            if (p.name().contains("lora_B")) {
                Arrays.fill(p.values(), 0f);
            }
        }
        new PpoSession(base, fresh.context).prepare(base, prompts, fresh.engine);
    }

    /** Batches of the three golden prompts, as the job's data hands them out. */
    private static java.util.function.Supplier<TokenBatch> prompts() {
        int[][] prompts = {{1, 5, 6}, {1, 9}, {1, 14, 15, 16}};
        int seqLen = 8;
        return () -> {
            int[] ids = new int[3 * seqLen];
            int[] labels = new int[3 * seqLen];
            int[] lengths = new int[3];
            Arrays.fill(ids, GoldenModels.EOS);
            Arrays.fill(labels, TokenBatch.IGNORE);
            for (int b = 0; b < 3; b++) {
                System.arraycopy(prompts[b], 0, ids, b * seqLen, prompts[b].length);
                lengths[b] = prompts[b].length;
            }
            return new TokenBatch(3, seqLen, ids, labels, lengths, new TokenBatch.Groups(1, new int[] {0, 1, 2}, Map.of()));
        };
    }

    private static void assertClose(double[] actual, JsonNode expected, double tolerance, String what) {
        assertThat(actual).as(what + ": length").hasSize(expected.size());
        double max = 0;
        for (int i = 0; i < actual.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected.get(i).asDouble()));
        }
        assertThat(max).as("max |Δ| of " + what).isLessThan(tolerance);
    }
}
