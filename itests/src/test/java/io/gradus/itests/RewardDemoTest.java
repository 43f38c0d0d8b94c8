package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus demo reward and gradus score, as the README writes them")
class RewardDemoTest {

    @TempDir
    Path dir;

    /** README's command with {@code marker}, as arguments: "./gradus" and the comment dropped, out/ under the test's folder. */
    private String[] readme(String marker, String... extra) throws Exception {
        String command = ReadmeCommands.line(marker);
        command = command.substring(0, command.contains("#") ? command.indexOf('#') : command.length()).strip();
        List<String> args = new ArrayList<>(Arrays.asList(command.replace("out/", dir.resolve("out") + "/").split("\\s+")));
        assertThat(args.removeFirst()).isEqualTo("./gradus");
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    @Test
    @DisplayName("the demo trains a reward model on the built-in pairs, writes summary.json, and score reads the model it leaves")
    void demoThenScore() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        System.setProperty("gradus.cache", dir.resolve("cache").toString());
        StringWriter err = new StringWriter();
        // A tiny built-in model, as gradus demo would pre-train (bigger) on its first run.
        assertThat(Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
                .execute("pretrain", "--steps", "8", "--vocab", "400", "--hidden", "32", "--layers", "1", "--seq", "512",
                        "--batch", "4", "--lr", "1e-2")).as(err.toString()).isZero();

        // As written, with few steps: the demo's full run is measured in docs/DESIGN.md, not here.
        assertThat(Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
                .execute(readme("demo reward", "--steps", "4"))).as(err.toString()).isZero();
        JsonNode summary = RunningHost.JSON.readTree(dir.resolve("out/reward/summary.json").toFile());
        assertThat(summary.get("technique").asText()).isEqualTo("reward");
        assertThat(summary.at("/before/heldout_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.at("/after/heldout_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.get("steps").asInt()).isEqualTo(4);
        assertThat(Path.of(summary.get("reward_model").asText()).resolve("config.json")).exists();

        StringWriter out = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(readme("./gradus score --model out/reward"))).as(err.toString()).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines).hasSize(Files.readAllLines(dir.resolve("out/reward/data/heldout.jsonl")).size());
        assertThat(RunningHost.JSON.readTree(lines.getFirst()).has("chosen_score")).isTrue();
        assertThat(RunningHost.JSON.readTree(lines.getFirst()).has("rejected_score")).isTrue();
    }
}
