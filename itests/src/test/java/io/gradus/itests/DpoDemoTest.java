package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus demo dpo and gradus train --adapter, as the README writes them")
class DpoDemoTest {

    @TempDir
    Path dir;

    @Test
    @DisplayName("the demo runs SFT, then DPO from its adapter, and writes summary.json; train --adapter runs its job file again")
    void demoThenTrainFromTheAdapter() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        System.setProperty("gradus.cache", dir.resolve("cache").toString());
        TinyBuiltInModel.write(dir.resolve("cache"));
        StringWriter err = new StringWriter();

        // As written, with few steps: the demo's full run is measured in docs/DESIGN.md, not here.
        StringWriter out = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(ReadmeCommands.inFolder("demo dpo", dir, "--steps", "4"))).as(out + "" + err).isZero();
        assertThat(out.toString()).contains("held-out preference accuracy", "against it without its last word");
        JsonNode summary = RunningHost.JSON.readTree(dir.resolve("out/dpo/summary.json").toFile());
        assertThat(summary.get("technique").asText()).isEqualTo("dpo");
        assertThat(summary.at("/before/heldout_preference_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.at("/before/heldout_reward_margin").asDouble()).as("the reference is the SFT model").isZero();
        assertThat(summary.at("/after/heldout_preference_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.at("/after/heldout_reward_margin").asDouble()).as("DPO moved the policy").isNotZero();
        assertThat(summary.get("steps").asInt()).isEqualTo(4);
        assertThat(summary.get("heldout_pairs_measured").asInt()).isPositive();
        assertThat(dir.resolve("out/dpo/sft/adapter/adapter_config.json")).exists();
        assertThat(dir.resolve("out/dpo/run/adapter/adapter_model.safetensors")).exists();
        assertThat(dir.resolve("out/dpo/run/eval.jsonl")).content().contains("rewards/accuracies", "logps/chosen");

        StringWriter trained = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(trained)).setErr(new PrintWriter(err))
                .execute(ReadmeCommands.inFolder("--adapter out/dpo/sft/adapter", dir))).as(trained + "" + err).isZero();
        assertThat(trained.toString()).contains("done: 4 steps");
        JsonNode provenance = RunningHost.JSON.readTree(dir.resolve("out/dpo/run/provenance.json").toFile());
        assertThat(provenance.get("adapter").asText()).isEqualTo(dir.resolve("out/dpo/sft/adapter").toString());
        JsonNode job = RunningHost.JSON.readTree(dir.resolve("out/dpo/run/job.json").toFile());
        assertThat(job.at("/tuner/name").asText()).as("the adapter's tuner").isEqualTo("lora");
        assertThat(job.at("/tuner/config/r").asInt()).isEqualTo(16);
        assertThat(Files.readString(dir.resolve("out/dpo/dpo.yaml"))).doesNotContain("adapter:");
    }
}
