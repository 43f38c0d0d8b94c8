package io.gradus.plugin.ppo.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.model.Parameter;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.GroupedExamples;
import io.gradus.core.train.Trainer;
import io.gradus.core.train.TrainingContext;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.plugin.lora.internal.LoraTechnique;
import io.gradus.plugin.ppo.PpoConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PPO in the trainer's loop on tiny models: a fresh LoRA adapter on the golden policy learns to raise
 * the golden reward model's score with a fixed seed; a run resumed from a checkpoint in the middle of
 * an iteration takes exactly the steps of the uninterrupted run; steering β takes effect at the next
 * rollout.
 */
class PpoTrainingTest {

    /** Prompts in the data; a rollout takes all of them: two micro-batches (gradAccumulation 2) of 16. */
    private static final int PROMPTS = 32;
    private static final int PROMPTS_PER_BATCH = 16;
    private static final int SEQ_LEN = 12;
    /** Rollouts of the learning test: 4 optimizer steps each (numPpoEpochs 4). */
    private static final int ITERATIONS = 12;

    /** One run: the trainer, its trainable weights (value head included) and what each step reported. */
    private record Run(Trainer<PpoConfig> trainer, List<Parameter> weights, List<Trainer.StepMetrics> steps) {}

    private static Run newRun(PpoConfig config, int steps) throws Exception {
        LlamaModel model = LlamaModel.load(GoldenModels.GOLDEN.resolve("policy"));
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, 0.0, List.of("all-linear"), false, null), 3);
        LlamaEngine engine = new LlamaEngine(model, GoldenModels.KERNELS, List.of(tuning));
        LlamaModel likes = LlamaModel.load(GoldenModels.GOLDEN.resolve("reward"));
        preferTokens(likes, 3, 16);
        LlamaEngine reward = new LlamaEngine(likes, GoldenModels.KERNELS);
        Hyperparameters hyper = new Hyperparameters(steps, PROMPTS_PER_BATCH, SEQ_LEN, 2, 3e-2, 0, "constant", 0.0, null,
                null, null, 1.0, null);
        TrainingContext context = new TrainingContext(5, engine, tuning.trainableParameters(), path -> reward,
                hyper.gradAccumulation(), new GoldenModels.EosOnly());
        Trainer<PpoConfig> trainer = new Trainer<>(engine, tuning.trainableParameters(), new PpoTechnique(), context, config,
                prompts(), hyper);
        List<Parameter> weights = new ArrayList<>(tuning.trainableParameters());
        weights.addAll(context.registered());
        return new Run(trainer, weights, new ArrayList<>());
    }

    /**
     * Makes the golden reward model prefer responses that end with a token of [first, last]: their
     * embeddings point along its score head (8 × its direction), so such a token dominates the final
     * hidden state the score is read from (mean score ≈ 3.2 against ≈ −0.3 ± 1.1 for the others).
     */
    private static void preferTokens(LlamaModel reward, int first, int last) {
        float[] head = reward.scoreHead().orElseThrow().weight().values();
        double norm = 0;
        for (float w : head) {
            norm += w * w;
        }
        float[] embeddings = reward.parameter("model.embed_tokens.weight").values();
        for (int token = first; token <= last; token++) {
            for (int i = 0; i < head.length; i++) {
                embeddings[token * head.length + i] = (float) (8 * head[i] / Math.sqrt(norm));
            }
        }
    }

    /** Prompts of BOS and one to three random tokens (never EOS). */
    private static GroupedExamples prompts() {
        Random random = new Random(9);
        List<SequenceGroup> groups = new ArrayList<>();
        for (int g = 0; g < PROMPTS; g++) {
            int[] ids = new int[2 + random.nextInt(3)];
            ids[0] = 1;
            for (int i = 1; i < ids.length; i++) {
                ids[i] = 3 + random.nextInt(27);
            }
            groups.add(SequenceGroup.of(new Example(ids, new boolean[ids.length])));
        }
        return new GroupedExamples(groups, java.util.stream.IntStream.range(0, PROMPTS).toArray(), PROMPTS_PER_BATCH, SEQ_LEN,
                GoldenModels.EOS);
    }

    private static PpoConfig config(Double klTarget) {
        return new PpoConfig("reward", 2, 1.0, null, 0.05, "k1", klTarget, klTarget == null ? null : 64, null, null, 4, 1,
                null, null, null, "base", 2);
    }

    /** The mean score of the rollouts of the steps in [from, to), which report one each. */
    private static double meanScore(List<Trainer.StepMetrics> steps, int from, int to) {
        return steps.subList(from, to).stream().filter(m -> m.metrics().containsKey("objective/scores"))
                .mapToDouble(m -> m.metrics().get("objective/scores")).average().orElseThrow();
    }

    @Test
    @DisplayName("over a few PPO iterations with a fixed seed the mean reward-model score rises, the KL stays bounded")
    void raisesTheScore() throws Exception {
        Run run = newRun(config(null), ITERATIONS * 4);
        run.trainer().run(ITERATIONS * 4, run.steps()::add);
        List<Double> scores = run.steps().stream().filter(m -> m.metrics().containsKey("objective/scores"))
                .map(m -> m.metrics().get("objective/scores")).toList();
        assertThat(scores).as("one rollout every numPpoEpochs = 4 steps").hasSize(ITERATIONS);
        double first = meanScore(run.steps(), 0, 12);
        double last = meanScore(run.steps(), ITERATIONS * 4 - 12, ITERATIONS * 4);
        assertThat(last).as("mean score of the last three rollouts vs the first three, per rollout: %s", scores)
                .isGreaterThan(first + 0.5);
        assertThat(run.steps().getFirst().metrics().get("objective/kl")).as("the first rollout is the reference's").isZero();
        assertThat(run.steps().get(ITERATIONS * 4 - 4).metrics().get("objective/kl"))
                .as("KL per sequence to the reference at the last rollout").isBetween(0.0, 5.0);
    }

    @Test
    @DisplayName("a run resumed from a checkpoint in the middle of an iteration computes exactly what the straight run does")
    void resumesExactly(@TempDir Path dir) throws Exception {
        PpoConfig config = config(0.5);
        Run straight = newRun(config, 14);
        straight.trainer().run(14, straight.steps()::add);

        Run first = newRun(config, 14);
        first.trainer().run(6, first.steps()::add); // the second step of the second iteration
        first.trainer().saveCheckpoint(dir.resolve("checkpoint"));
        Run resumed = newRun(config, 14);
        resumed.trainer().resume(dir.resolve("checkpoint"));
        resumed.trainer().run(14, resumed.steps()::add);

        List<Trainer.StepMetrics> stitched = new ArrayList<>(first.steps());
        stitched.addAll(resumed.steps());
        assertThat(stitched).hasSize(14);
        for (int s = 0; s < 14; s++) {
            assertThat(stitched.get(s).loss()).as("loss of step %d", s + 1).isEqualTo(straight.steps().get(s).loss());
            assertThat(withoutTimes(stitched.get(s).metrics())).as("metrics of step %d", s + 1)
                    .isEqualTo(withoutTimes(straight.steps().get(s).metrics()));
        }
        assertThat(straight.steps().get(12).metrics().get("objective/kl_coef")).as("the controller moved β")
                .isNotEqualTo(0.05);
        for (int p = 0; p < straight.weights().size(); p++) {
            assertThat(resumed.weights().get(p).values()).as(straight.weights().get(p).name())
                    .containsExactly(straight.weights().get(p).values());
        }
    }

    @Test
    @DisplayName("steering klCoef sets β from the next rollout on")
    void steersTheKlCoefficient() throws Exception {
        Run run = newRun(config(null), 8);
        run.trainer().run(4, run.steps()::add);
        PpoConfig steered = new PpoConfig("reward", 6, 1.0, null, 0.2, "k1", null, null, null, null, 4, 1, null, null, null,
                "base", 2);
        run.trainer().setObjectiveConfig(steered);
        run.trainer().run(8, run.steps()::add);
        assertThat(run.steps().get(0).metrics().get("objective/kl_coef")).isEqualTo(0.05);
        assertThat(run.steps().get(4).metrics().get("objective/kl_coef")).isEqualTo(0.2);
    }

    private static Map<String, Double> withoutTimes(Map<String, Double> metrics) {
        Map<String, Double> kept = new TreeMap<>(metrics);
        kept.keySet().removeIf(k -> k.startsWith("time/"));
        return kept;
    }
}
