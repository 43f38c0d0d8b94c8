package io.gradus.plugin.reward.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.ScoreHead;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.ScalarHead;
import io.gradus.api.technique.StepResult;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.GroupedExamples;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.reward.PreferenceData;
import io.gradus.plugin.reward.RewardConfig;
import java.util.Arrays;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The reward model against an independent PyTorch rendering of transformers' LlamaForSequenceClassification
 * and TRL's RewardTrainer ({@code src/test/python/reward_reference.py}), and against finite differences.
 */
class RewardGoldenTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path GOLDEN = Path.of("src/test/resources/golden");

    /** The pairs of a JSONL file as one batch of whole pairs, padded with {@code pad}. */
    static TokenBatch batch(Path file, int seqLen, int pad) throws Exception {
        List<SequenceGroup> pairs = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            pairs.add(PreferenceData.pair(JSON.readValue(line, new TypeReference<Map<String, Object>>() {}),
                    null /* pre-tokenized: no tokenizer */));
        }
        int[] indices = java.util.stream.IntStream.range(0, pairs.size()).toArray();
        return new GroupedExamples(pairs, indices, pairs.size(), seqLen, pad).next();
    }

    /** One reward step, the gradients zeroed first as the trainer does. */
    private static StepResult step(RewardConfig config, TokenBatch batch, LlamaEngine engine) {
        engine.model().parameters().stream().filter(Parameter::trainable).forEach(p -> Arrays.fill(p.gradient(), 0f));
        return new RewardTechnique().step(config, batch, engine, 1f);
    }

    @Test
    @DisplayName("scores, Bradley-Terry loss with margins and centring, accuracy, margin and gradients match PyTorch")
    void matchesPyTorch() throws Exception {
        JsonNode golden = JSON.readTree(GOLDEN.resolve("golden.json").toFile());
        LlamaModel model = LlamaModel.load(GOLDEN.resolve("classifier"));
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        ScoreHead head = model.scoreHead().orElseThrow();
        TokenBatch batch = batch(GOLDEN.resolve("pairs.jsonl"), 7, head.padTokenId());

        float[] scores = new ScalarHead(head.weight(), batch.lastTokens(head.padTokenId()))
                .forward(engine.infer(batch, false).hidden(), KERNELS);
        for (int p = 0; p < 3; p++) {
            assertThat((double) scores[2 * p]).as("chosen %d", p).isCloseTo(golden.at("/chosen_scores/" + p).asDouble(), within(1e-5));
            assertThat((double) scores[2 * p + 1]).as("rejected %d", p)
                    .isCloseTo(golden.at("/rejected_scores/" + p).asDouble(), within(1e-5));
        }

        StepResult step = step(new RewardConfig(golden.get("center_rewards_coefficient").asDouble()),
                batch, engine);
        assertThat(step.loss()).isCloseTo(golden.get("loss").asDouble(), within(1e-5));
        assertThat(step.tokens()).as("pairs").isEqualTo(3);
        assertThat(step.metrics().get("accuracy")).isCloseTo(golden.get("accuracy").asDouble(), within(1e-6));
        assertThat(step.metrics().get("margin")).isCloseTo(golden.get("margin").asDouble(), within(1e-5));
        golden.get("gradients").fields().forEachRemaining(entry -> {
            float[] gradient = model.parameter(entry.getKey()).gradient();
            double maxDifference = 0;
            for (int i = 0; i < gradient.length; i++) {
                maxDifference = Math.max(maxDifference, Math.abs(gradient[i] - entry.getValue().get(i).asDouble()));
            }
            assertThat(maxDifference).as("max |Δ| of the gradient of %s", entry.getKey()).isLessThan(2e-5);
        });
    }

    @Test
    @DisplayName("the gradients of the head and the backbone match central finite differences of the loss")
    void gradientsMatchFiniteDifferences() throws Exception {
        LlamaModel model = LlamaModel.load(GOLDEN.resolve("classifier"));
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TokenBatch batch = batch(GOLDEN.resolve("pairs.jsonl"), 7, 2);
        RewardConfig config = new RewardConfig(0.05);
        step(config, batch, engine);

        Random random = new Random(5);
        double h = 1e-2;
        for (String name : List.of("score.weight", "model.layers.1.mlp.down_proj.weight", "model.norm.weight",
                "model.embed_tokens.weight")) {
            Parameter p = model.parameter(name);
            float[] analytic = p.gradient().clone();
            for (int sample = 0; sample < 5; sample++) {
                int i = name.startsWith("model.embed") ? 16 * 5 + random.nextInt(16) : random.nextInt(p.size());
                float saved = p.values()[i];
                p.values()[i] = (float) (saved + h);
                double up = step(config, batch, engine).loss();
                p.values()[i] = (float) (saved - h);
                double down = step(config, batch, engine).loss();
                p.values()[i] = saved;
                double numeric = (up - down) / (2 * h);
                assertThat((double) analytic[i]).as("%s[%d]", name, i).isCloseTo(numeric, within(1e-3 + 0.02 * Math.abs(numeric)));
            }
        }
    }

    @Test
    @DisplayName("a tuner that leaves the score head frozen is refused when the job starts, with the reason")
    void refusesAFrozenHead() throws Exception {
        LlamaModel model = LlamaModel.load(GOLDEN.resolve("classifier"));
        model.parameters().forEach(p -> p.setTrainable(!p.name().equals(ScoreHead.NAME)));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        var context = new io.gradus.core.train.TrainingContext(1, engine, model.parameters(), null);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new RewardTechnique().session(RewardConfig.defaults(), context))
                .hasMessageContaining("leaves the score head (score.weight) frozen");
    }
}
