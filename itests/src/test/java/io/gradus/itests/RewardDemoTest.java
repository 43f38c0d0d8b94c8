package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus demo reward and gradus score, as the README writes them")
class RewardDemoTest {

    @TempDir
    Path dir;

    @Test
    @DisplayName("the demo trains a reward model on the built-in pairs, writes summary.json, and score reads the model it leaves")
    void demoThenScore() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        System.setProperty("gradus.cache", dir.resolve("cache").toString());
        TinyBuiltInModel.write(dir.resolve("cache"));
        StringWriter err = new StringWriter();

        // As written, with few steps: the demo's full run is measured in docs/DESIGN.md, not here.
        assertThat(Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
                .execute(ReadmeCommands.inFolder("demo reward", dir, "--steps", "4"))).as(err.toString()).isZero();
        JsonNode summary = RunningHost.JSON.readTree(dir.resolve("out/reward/summary.json").toFile());
        assertThat(summary.get("technique").asText()).isEqualTo("reward");
        assertThat(summary.at("/before/heldout_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.at("/after/heldout_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.get("steps").asInt()).isEqualTo(4);
        assertThat(summary.get("first_job_steps").asInt()).as("the first job, on one kind of pair").isEqualTo(4);
        assertThat(summary.at("/after/heldout_accuracy_other_part_of_speech").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.at("/after/heldout_accuracy_shuffled_definition").asDouble()).isBetween(0.0, 1.0);
        assertThat(Path.of(summary.get("first_job_output").asText()).resolve("model/config.json")).exists();
        assertThat(Path.of(summary.get("reward_model").asText()).resolve("config.json")).exists();

        StringWriter out = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(ReadmeCommands.inFolder("./gradus score --model out/reward", dir))).as(err.toString()).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines).hasSize(Files.readAllLines(dir.resolve("out/reward/data/heldout.jsonl")).size());
        assertThat(RunningHost.JSON.readTree(lines.getFirst()).has("chosen_score")).isTrue();
        assertThat(RunningHost.JSON.readTree(lines.getFirst()).has("rejected_score")).isTrue();
    }

    @Test
    @DisplayName("gradus demo ppo uses the reward demo's model beside it: mean score before and after, KL, the curve, "
            + "TRL's metrics in metrics.jsonl under DIR")
    void ppoDemo() throws Exception {
        StringWriter err = new StringWriter();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        System.setProperty("gradus.cache", dir.resolve("cache").toString());
        TinyBuiltInModel.write(dir.resolve("cache"));
        assertThat(Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
                .execute(ReadmeCommands.inFolder("demo reward", dir, "--steps", "4"))).as(err.toString()).isZero();

        // One rollout: numPpoEpochs 4 × numMiniBatches 2 optimizer steps.
        StringWriter out = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(ReadmeCommands.inFolder("demo ppo", dir, "--steps", "8"))).as(err.toString()).isZero();
        Path rewardModel = dir.resolve("out/reward/run/model");
        assertThat(out.toString()).contains("== reward model: " + rewardModel, "mean reward-model score: ",
                "KL to the reference per response: ").doesNotContain("no reward model yet");

        JsonNode summary = RunningHost.JSON.readTree(dir.resolve("out/ppo/summary.json").toFile());
        assertThat(summary.get("technique").asText()).isEqualTo("ppo");
        assertThat(summary.at("/before/mean_score").isNumber()).isTrue();
        assertThat(summary.at("/after/mean_score").isNumber()).isTrue();
        assertThat(summary.at("/after/kl").isNumber()).isTrue();
        assertThat(summary.get("reward_model").asText()).isEqualTo(rewardModel.toString());
        assertThat(summary.get("steps").asInt()).isEqualTo(8);
        assertThat(summary.get("curve")).hasSize(1);
        assertThat(summary.at("/curve/0/kl").asDouble()).as("the first rollout's policy is the reference").isZero();

        Path metrics = Path.of(summary.get("metrics").asText());
        assertThat(metrics).startsWith(dir.resolve("out/ppo"));
        JsonNode first = RunningHost.JSON.readTree(Files.readAllLines(metrics).getFirst()).get("metrics");
        for (String name : List.of("objective/kl", "objective/entropy", "objective/non_score_reward", "objective/rlhf_reward",
                "objective/scores", "policy/approxkl_avg", "policy/clipfrac_avg", "loss/policy_avg", "loss/value_avg",
                "val/clipfrac_avg", "policy/entropy_avg", "val/ratio", "val/num_eos_tokens")) {
            assertThat(first.has(name)).as(name).isTrue();
        }
        assertThat(first.get("objective/scores").asDouble()).isEqualTo(summary.at("/curve/0/scores").asDouble());
        assertThat(Path.of(summary.get("job_output").asText()).resolve("samples.jsonl")).isNotEmptyFile();
    }
}
