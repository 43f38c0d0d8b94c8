package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.cli.Gradus;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A PPO job from a job file, through {@code gradus train} in the real host: LoRA on the tiny job's
 * base, a reward model of the same vocabulary beside it, prompts from its sentences. It writes TRL's
 * metrics, samples and held-out scores, reproduces itself with the same seed, resumes in the middle of
 * a rollout to the uninterrupted run's numbers, and refuses bad input naming what is wrong.
 */
@DisplayName("gradus train with the ppo objective")
class PpoJobTest {

    /** What PPO reports per rollout (with the rollout's first step) and per step, by TRL's names. */
    private static final List<String> TRL_METRICS = List.of("objective/kl", "objective/entropy",
            "objective/non_score_reward", "objective/rlhf_reward", "objective/scores", "policy/approxkl_avg",
            "policy/clipfrac_avg", "loss/policy_avg", "loss/value_avg", "val/clipfrac_avg", "policy/entropy_avg",
            "val/ratio", "val/num_eos_tokens");

    @TempDir
    Path dir;

    private StringWriter err;

    @BeforeEach
    void baseRewardModelAndPrompts() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        TinyJob.write(dir);
        LlamaModel reward = LlamaModel.initialize(LlamaModel.load(dir.resolve("base")).config(), 2);
        reward.toSequenceClassifier(2);
        reward.save(dir.resolve("reward"));
        // The first words of the tiny job's sentences as prompts.
        StringBuilder prompts = new StringBuilder();
        for (String line : Files.readAllLines(dir.resolve("train.jsonl"))) {
            String text = RunningHost.JSON.readTree(line).get("text").asText();
            prompts.append("{\"prompt\": \"").append(text, 0, text.indexOf(' ', 4)).append("\"}\n");
        }
        Files.writeString(dir.resolve("prompts.jsonl"), prompts);
        Files.writeString(dir.resolve("heldout.jsonl"), prompts.toString().lines().limit(6)
                .reduce("", (a, b) -> a + b + "\n"));
    }

    /** A PPO job of {@code steps} steps: 2 epochs of 1 mini-batch, so two optimizer steps per rollout of 4 prompts. */
    private static String job(int steps, String output, String objectiveExtra) {
        return """
                name: ppo
                model: base
                tuner: {name: lora, config: {r: 4, loraAlpha: 8, targetModules: [q_proj, v_proj]}}
                objective: {name: ppo, config: {rewardModel: reward, responseLength: 6, numPpoEpochs: 2%s}}
                data: {train: prompts.jsonl, eval: heldout.jsonl}
                hyper: {steps: %d, batchSize: 4, seqLen: 24, learningRate: 0.01, schedule: constant}
                output: %s
                seed: 7
                """.formatted(objectiveExtra, steps, output);
    }

    private int train(String job, String... extra) throws Exception {
        Path file = dir.resolve("job.yaml");
        Files.writeString(file, job);
        List<String> args = new ArrayList<>(List.of("train", file.toString()));
        args.addAll(List.of(extra));
        return Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err = new StringWriter()))
                .execute(args.toArray(String[]::new));
    }

    /** metrics.jsonl without what depends on the clock (tokens/s, ETA, the phases' seconds) or on the steps asked for. */
    private List<JsonNode> numbers(String output) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(output).resolve("metrics.jsonl"))) {
            ObjectNode node = (ObjectNode) RunningHost.JSON.readTree(line);
            node.remove(List.of("tokensPerSecond", "etaSeconds", "totalSteps"));
            if (node.get("metrics") instanceof ObjectNode metrics) {
                metrics.remove(List.of("time/generation_s", "time/scoring_s", "time/forward_s"));
            }
            lines.add(node);
        }
        return lines;
    }

    @Test
    @DisplayName("trains: TRL's metrics per step, samples and held-out scores per checkpoint, the adapter; the same seed, the same run")
    void trains() throws Exception {
        assertThat(train(job(6, "out", ""))).as(String.valueOf(err)).isZero();
        Path out = dir.resolve("out");
        List<JsonNode> metrics = numbers("out");
        assertThat(metrics).hasSize(6);
        for (int step : new int[] {0, 2, 4}) { // a rollout's first step carries the rollout's metrics too
            List<String> names = new ArrayList<>();
            metrics.get(step).get("metrics").fieldNames().forEachRemaining(names::add);
            assertThat(names).containsAll(TRL_METRICS);
        }
        assertThat(metrics.getFirst().at("/metrics/objective~1kl").asDouble())
                .as("the first rollout's policy is the reference: the adapter starts at zero").isZero();
        assertThat(metrics.getFirst().at("/metrics/val~1ratio").asDouble()).as("and the first step's ratio is 1").isEqualTo(1.0);

        List<String> samples = Files.readAllLines(out.resolve("samples.jsonl"));
        assertThat(samples).isNotEmpty();
        JsonNode sample = RunningHost.JSON.readTree(samples.getFirst());
        String prompt = Files.readAllLines(dir.resolve("prompts.jsonl")).get(sample.get("record").asInt() - 1);
        assertThat(sample.get("prompt").asText()).as("decoded").isEqualTo(RunningHost.JSON.readTree(prompt).get("prompt").asText());
        assertThat(sample.has("response")).isTrue();
        assertThat(sample.get("score").isNumber()).isTrue();
        JsonNode eval = RunningHost.JSON.readTree(Files.readAllLines(out.resolve("eval.jsonl")).getLast());
        assertThat(eval.get("prompts").asInt()).isEqualTo(6);
        assertThat(eval.has("objective/scores")).isTrue();
        assertThat(eval.has("objective/kl")).isTrue();
        assertThat(out.resolve("adapter/adapter_model.safetensors")).exists();

        assertThat(train(job(6, "again", ""))).as(String.valueOf(err)).isZero();
        assertThat(numbers("again")).as("a second run with the same seed").isEqualTo(metrics);
        assertThat(Files.readAllLines(dir.resolve("again/samples.jsonl"))).isEqualTo(samples);
    }

    @Test
    @DisplayName("--resume from a checkpoint in the middle of a rollout continues exactly as the uninterrupted run")
    void resumesMidRollout() throws Exception {
        assertThat(train(job(5, "whole", ""))).as(String.valueOf(err)).isZero();
        // Step 3 is the first of the second rollout's two steps: the checkpoint holds the rest of the rollout.
        assertThat(train(job(3, "split", ""))).as(String.valueOf(err)).isZero();
        assertThat(train(job(5, "split", ""), "--resume")).as(String.valueOf(err)).isZero();
        assertThat(numbers("split")).isEqualTo(numbers("whole"));
        assertThat(Files.readAllLines(dir.resolve("split/samples.jsonl")))
                .isEqualTo(Files.readAllLines(dir.resolve("whole/samples.jsonl")));
    }

    @Test
    @DisplayName("bad input is refused naming the field, the folder, the file and line or the record")
    void clearErrors() throws Exception {
        assertThat(train(job(2, "bad1", "").replace("rewardModel: reward, ", ""))).isNotZero();
        assertThat(err.toString()).contains("ppo needs config.rewardModel");

        assertThat(train(job(2, "bad2", "").replace("rewardModel: reward", "rewardModel: no-such-folder"))).isNotZero();
        assertThat(err.toString()).contains("cannot load the model no-such-folder");

        assertThat(train(job(2, "bad3", "").replace("rewardModel: reward", "rewardModel: base"))).isNotZero();
        assertThat(err.toString()).contains("the reward model base", "not a sequence classifier");

        LlamaConfig other = new LlamaConfig(300, 32, 64, 1, 4, 2, 8, 1e-5, 10000.0, 128, false, 259, 260);
        LlamaModel wide = LlamaModel.initialize(other, 3);
        wide.toSequenceClassifier(3);
        wide.save(dir.resolve("wide"));
        assertThat(train(job(2, "bad4", "").replace("rewardModel: reward", "rewardModel: wide"))).isNotZero();
        assertThat(err.toString()).as("refused before training, not a fault of the technique")
                .contains("objective 'ppo': the reward model wide has a vocabulary of 300 tokens, the policy 261");

        assertThat(train(job(2, "bad5", ", klEstimator: k2"))).isNotZero();
        assertThat(err.toString()).contains("klEstimator", "k1, k3", "'k2'");

        // Pre-tokenized prompts of 3 and 4 tokens: the second leaves no room for a response in rows of 4.
        Files.writeString(dir.resolve("prompts.jsonl"), "{\"input_ids\": [259, 10, 11]}\n{\"input_ids\": [259, 10, 11, 12]}\n");
        Files.copy(dir.resolve("prompts.jsonl"), dir.resolve("heldout.jsonl"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThat(train(job(2, "bad6", "").replace("seqLen: 24", "seqLen: 4"))).isNotZero();
        assertThat(err.toString()).contains("objective 'ppo': the prompt of record 2 has 4 tokens and fills a row of "
                + "hyper.seqLen 4", "raise seqLen");

        Files.writeString(dir.resolve("prompts.jsonl"), "{\"prompt\": \"the cat\"}\n{\"text\": \"no prompt\"}\n");
        assertThat(train(job(2, "bad7", ""))).isNotZero();
        assertThat(err.toString()).contains("prompts.jsonl:2", "\"prompt\"");
    }
}
