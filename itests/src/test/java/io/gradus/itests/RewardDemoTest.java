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
        assertThat(Path.of(summary.get("reward_model").asText()).resolve("config.json")).exists();

        StringWriter out = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(ReadmeCommands.inFolder("./gradus score --model out/reward", dir))).as(err.toString()).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines).hasSize(Files.readAllLines(dir.resolve("out/reward/data/heldout.jsonl")).size());
        assertThat(RunningHost.JSON.readTree(lines.getFirst()).has("chosen_score")).isTrue();
        assertThat(RunningHost.JSON.readTree(lines.getFirst()).has("rejected_score")).isTrue();
    }
}
