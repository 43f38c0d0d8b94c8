package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An adapter trained and written by Gradus, applied by an independent PyTorch implementation of
 * PEFT's LoRA ({@code src/test/python/apply_peft_adapter.py}), gives the logits of
 * {@code gradus forward --adapter}.
 */
@DisplayName("A Gradus LoRA adapter in PyTorch")
class PeftRoundTripTest {

    private static final Path SCRIPT = Path.of("src/test/python/apply_peft_adapter.py");

    @TempDir
    Path dir;

    @Test
    @DisplayName("PyTorch, applying the PEFT files Gradus wrote, computes the same logits (within 1e-4)")
    void pytorchAppliesGradusAdapter() throws Exception {
        Processes.requireTorch();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        Path base = Files.createDirectories(dir.resolve("base"));
        Files.copy(Path.of(PeftRoundTripTest.class.getResource("/byte-bpe/tokenizer.json").toURI()), base.resolve("tokenizer.json"));
        LlamaModel.initialize(new LlamaConfig(261, 32, 64, 2, 4, 2, 8, 1e-5, 10000.0, 64, false, 259, 260), 5).save(base);
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            data.append("{\"prompt\": \"say ").append(i).append("\", \"completion\": \" the cat sat ").append(i % 7).append(".\"}\n");
        }
        Files.writeString(dir.resolve("train.jsonl"), data);
        Files.writeString(dir.resolve("job.yaml"), """
                model: base
                tuner: {name: lora, config: {r: 4, loraAlpha: 8, useRslora: true, targetModules: [q_proj, o_proj, up_proj]}}
                objective: {name: sft}
                data: {train: train.jsonl}
                hyper: {steps: 6, batchSize: 2, seqLen: 32, learningRate: 0.05, warmupSteps: 1}
                output: out
                """);
        StringWriter err = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
                .execute("train", dir.resolve("job.yaml").toString())).as(err.toString()).isZero();

        String ids = "259,104,101,108,108,111,32,99,97,116";
        Path adapter = dir.resolve("out/adapter");
        StringWriter out = new StringWriter();
        assertThat(Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("forward", "--model", base.toString(), "--adapter", adapter.toString(), "--ids", ids))
                .as(err.toString()).isZero();
        JsonNode gradus = RunningHost.JSON.readTree(out.toString()).get("logits");

        Processes.Result torch = Processes.run("/usr/bin/python3", SCRIPT.toString(), base.toString(), adapter.toString(), ids);
        assertThat(torch.exit()).as(torch.output()).isZero();
        JsonNode reference = RunningHost.JSON.readTree(torch.output()).get("logits");

        assertThat(reference.size()).isEqualTo(gradus.size());
        double max = 0;
        for (int t = 0; t < gradus.size(); t++) {
            for (int j = 0; j < gradus.get(t).size(); j++) {
                max = Math.max(max, Math.abs(gradus.get(t).get(j).asDouble() - reference.get(t).get(j).asDouble()));
            }
        }
        assertThat(max).as("max |Gradus - PyTorch|").isLessThan(1e-4);
    }
}
