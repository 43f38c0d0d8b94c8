package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.core.llama.LlamaModel;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus train")
class TrainCommandTest {

    @TempDir
    Path dir;

    /** What the last command wrote to standard error. */
    private StringWriter err;

    @BeforeEach
    void baseModelAndData() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        TinyJob.write(dir);
    }

    /** What the last command wrote to standard output. */
    private StringWriter out;

    private int train(String job, String... extra) throws Exception {
        Path file = dir.resolve("job.yaml");
        Files.writeString(file, job);
        String[] args = new String[2 + extra.length];
        args[0] = "train";
        args[1] = file.toString();
        System.arraycopy(extra, 0, args, 2, extra.length);
        return run(args);
    }

    /** README's {@code gradus train job.yaml [--resume | --overwrite]} on {@code job}, with {@code option} or none. */
    private int readme(String job, String option) throws Exception {
        Path file = dir.resolve("job.yaml");
        Files.writeString(file, job);
        Map<String, String> placeholders = Map.of("job.yaml", file.toString());
        return run(option == null ? ReadmeCommands.gradus("./gradus train ", placeholders, false)
                : ReadmeCommands.gradus("./gradus train ", placeholders, option));
    }

    private int run(String... args) {
        return Gradus.commandLine().setOut(new PrintWriter(out = new StringWriter())).setErr(new PrintWriter(err = new StringWriter()))
                .execute(args);
    }

    @Test
    @DisplayName("trains a full fine-tune from a YAML job: loss falls; model, metrics, checkpoint and provenance are written")
    void trains() throws Exception {
        assertThat(readme(TinyJob.yaml(24, "out"), null)).as(String.valueOf(err)).isZero();

        Path out = dir.resolve("out");
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertThat(lines).hasSize(24);
        double first = RunningHost.JSON.readTree(lines.getFirst()).get("loss").asDouble();
        double last = RunningHost.JSON.readTree(lines.getLast()).get("loss").asDouble();
        assertThat(last).as("loss after 24 steps, from %.3f", first).isLessThan(0.7 * first);
        assertThat(LlamaModel.load(out.resolve("model")).config().vocabSize()).isEqualTo(261);
        assertThat(out.resolve("model/tokenizer.json")).exists();
        assertThat(out.resolve("checkpoint/trainer_state.json")).exists();
        List<String> evals = Files.readAllLines(out.resolve("eval.jsonl"));
        assertThat(evals).as("one per checkpoint: every 24/10 = 2 steps").hasSize(12);
        double firstEval = RunningHost.JSON.readTree(evals.getFirst()).get("loss").asDouble();
        double lastEval = RunningHost.JSON.readTree(evals.getLast()).get("loss").asDouble();
        assertThat(lastEval).as("held-out loss at the end, from %.3f", firstEval).isLessThan(firstEval);
        JsonNode provenance = RunningHost.JSON.readTree(out.resolve("provenance.json").toFile());
        assertThat(provenance.at("/tuner/bundleSymbolicName").asText()).isEqualTo("io.gradus.plugin.full");
        assertThat(provenance.at("/objective/version").asText()).isEqualTo("1.0.0");
        assertThat(provenance.get("data_sha256").asText()).hasSize(64);
        assertThat(RunningHost.JSON.readTree(out.resolve("job.json").toFile()).at("/hyper/steps").asInt()).isEqualTo(24);
    }

    @Test
    @DisplayName("LoRA trains only the low-rank factors and writes the adapter in PEFT's layout")
    void trainsLora() throws Exception {
        String lora = TinyJob.yaml(16, "out").replace("tuner: {name: full, version: \"[1.0,2.0)\"}",
                "tuner: {name: lora, config: {r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: [q_proj, v_proj, down_proj]}}")
                .replace("learningRate: 0.003", "learningRate: 0.01, packing: false");
        assertThat(train(lora)).as(String.valueOf(err)).isZero();

        Path adapter = dir.resolve("out/adapter");
        JsonNode config = RunningHost.JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(config.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        assertThat(config.get("r").asInt()).isEqualTo(4);
        assertThat(config.get("lora_alpha").asDouble()).isEqualTo(8.0);
        assertThat(config.get("target_modules").toString()).isEqualTo("[\"down_proj\",\"q_proj\",\"v_proj\"]");
        assertThat(config.get("base_model_name_or_path").asText()).endsWith("base");
        var tensors = new io.gradus.core.io.SafetensorsFiles().read(adapter.resolve("adapter_model.safetensors"));
        assertThat(tensors).hasSize(2 * 3 * 2);
        assertThat(tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape()).containsExactly(4, 32);
        assertThat(tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").shape()).containsExactly(32, 4);
        assertThat(tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").values())
                .as("B trained away from zero").isNotEqualTo(new float[32 * 4]);
        List<String> lines = Files.readAllLines(dir.resolve("out/metrics.jsonl"));
        assertThat(RunningHost.JSON.readTree(lines.getLast()).get("loss").asDouble())
                .isLessThan(RunningHost.JSON.readTree(lines.getFirst()).get("loss").asDouble());
        assertThat(dir.resolve("out/model")).doesNotExist();
    }

    @Test
    @DisplayName("SFT with bottleneck adapters trains only the adapters and writes them in the AdapterHub adapters layout")
    void trainsAdapters() throws Exception {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            data.append("{\"prompt\": \"say ").append(i).append("\", \"completion\": \" the cat sat ").append(i % 7)
                    .append(".\"}\n");
        }
        Files.writeString(dir.resolve("sft.jsonl"), data);
        String adapters = TinyJob.yaml(16, "out")
                .replace("tuner: {name: full, version: \"[1.0,2.0)\"}",
                        "tuner: {name: adapters, config: {adapterName: say, reductionFactor: 4, nonLinearity: gelu}}")
                .replace("objective: {name: pretrain}", "objective: {name: sft}")
                .replace("data: {train: train.jsonl, eval: eval.jsonl}", "data: {train: sft.jsonl}")
                .replace("learningRate: 0.003", "learningRate: 0.01");
        assertThat(train(adapters)).as(String.valueOf(err)).isZero();

        Path adapter = dir.resolve("out/adapter");
        JsonNode config = RunningHost.JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        assertThat(config.get("version").asText()).startsWith("adapters.");
        assertThat(config.get("name").asText()).isEqualTo("say");
        assertThat(config.at("/config/mh_adapter").asBoolean()).isTrue();
        assertThat(config.at("/config/output_adapter").asBoolean()).isTrue();
        assertThat(config.at("/config/non_linearity").asText()).isEqualTo("gelu");
        var tensors = new io.gradus.core.io.SafetensorsFiles().read(adapter.resolve("adapter.safetensors"));
        assertThat(tensors).hasSize(2 * 2 * 4);
        String up = "model.layers.1.output_adapters.adapters.say.adapter_up.weight";
        assertThat(tensors.get(up).shape()).containsExactly(32, 8);
        assertThat(tensors.get(up).values()).as("the up-projection trained away from zero").isNotEqualTo(new float[32 * 8]);
        List<String> lines = Files.readAllLines(dir.resolve("out/metrics.jsonl"));
        assertThat(RunningHost.JSON.readTree(lines.getLast()).get("loss").asDouble())
                .isLessThan(RunningHost.JSON.readTree(lines.getFirst()).get("loss").asDouble());
        JsonNode provenance = RunningHost.JSON.readTree(dir.resolve("out/provenance.json").toFile());
        assertThat(provenance.at("/tuner/bundleSymbolicName").asText()).isEqualTo("io.gradus.plugin.adapters");
        assertThat(dir.resolve("out/model")).doesNotExist();
    }

    @Test
    @DisplayName("QLoRA + SFT: the base is quantized to NF4 while it loads, LoRA trains on top, the adapter is in PEFT's layout")
    void trainsQlora() throws Exception {
        String qlora = TinyJob.yaml(16, "out").replace("tuner: {name: full, version: \"[1.0,2.0)\"}",
                "tuner: {name: qlora, config: {doubleQuant: true, lora: {r: 4, loraAlpha: 8, targetModules: [all-linear]}}}")
                .replace("objective: {name: pretrain}", "objective: {name: sft}")
                .replace("learningRate: 0.003", "learningRate: 0.01");
        assertThat(train(qlora)).as(String.valueOf(err)).isZero();

        Path out = dir.resolve("out");
        JsonNode config = RunningHost.JSON.readTree(out.resolve("adapter/adapter_config.json").toFile());
        assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(config.get("target_modules")).hasSize(7);
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertThat(RunningHost.JSON.readTree(lines.getLast()).get("loss").asDouble())
                .isLessThan(RunningHost.JSON.readTree(lines.getFirst()).get("loss").asDouble());
        assertThat(RunningHost.JSON.readTree(out.resolve("provenance.json").toFile()).at("/tuner/bundleSymbolicName").asText())
                .isEqualTo("io.gradus.plugin.qlora");
        assertThat(out.resolve("model")).doesNotExist();
    }

    @Test
    @DisplayName("README's --resume continues from the checkpoint (the metrics go on from the step where it stopped);"
            + " a finished run is started over only with README's --overwrite")
    void resumesAndOverwrites() throws Exception {
        assertThat(readme(TinyJob.yaml(10, "out"), null)).as(String.valueOf(err)).isZero();
        assertThat(readme(TinyJob.yaml(16, "out"), "--resume")).as(String.valueOf(err)).isZero();
        List<String> lines = Files.readAllLines(dir.resolve("out/metrics.jsonl"));
        assertThat(lines).hasSize(16);
        assertThat(RunningHost.JSON.readTree(lines.get(10)).get("step").asInt()).isEqualTo(11);

        assertThat(readme(TinyJob.yaml(3, "out"), null)).isNotZero();
        assertThat(err.toString()).contains("already holds a run", "(--overwrite)");
        assertThat(readme(TinyJob.yaml(3, "out"), "--overwrite")).as(String.valueOf(err)).isZero();
        assertThat(Files.readAllLines(dir.resolve("out/metrics.jsonl"))).as("a new run from step 1").hasSize(3)
                .first().satisfies(l -> assertThat(RunningHost.JSON.readTree(l).get("step").asInt()).isEqualTo(1));
    }

    @Test
    @DisplayName("errors name what is wrong: an unknown technique with what is installed, a bad data line with file:line")
    void clearErrors() throws Exception {
        assertThat(train(TinyJob.yaml(2, "out").replace("name: full", "name: ia3"))).isNotZero();
        assertThat(err.toString()).contains("no tuner 'ia3'", "installed tuners: adapters 0.1.0, full 1.0.0");

        assertThat(train(TinyJob.yaml(2, "out").replace("seqLen: 32", "seq_len: 32"))).isNotZero();
        assertThat(err.toString()).contains("job.yaml", "seq_len");

        Files.writeString(dir.resolve("train.jsonl"), "{\"text\": \"fine\"}\n{\"prompt\": \"no text here\"}\n");
        assertThat(train(TinyJob.yaml(2, "out"))).isNotZero();
        assertThat(err.toString()).contains("train.jsonl:2", "\"text\"");
    }

    @Test
    @DisplayName("an empty completion and a learning rate of 0 are warnings on the terminal: the job runs")
    void warnings() throws Exception {
        Files.writeString(dir.resolve("sft.jsonl"), "{\"prompt\": \"the cat\", \"completion\": \" sat on a mat.\"}\n".repeat(20)
                + "{\"prompt\": \"the dog\", \"completion\": \"\"}\n");
        String job = TinyJob.yaml(2, "out").replace("objective: {name: pretrain}", "objective: {name: sft}")
                .replace("train: train.jsonl", "train: sft.jsonl").replace("learningRate: 0.003", "learningRate: 0");
        assertThat(train(job)).as(String.valueOf(err)).isZero();
        assertThat(out.toString()).contains("warning: " + dir.resolve("sft.jsonl") + ": 1 record trains on no text, only"
                + " special tokens (an empty completion or answer?): line 21",
                "warning: hyper.learningRate is 0: no weight will change");
    }

    @Test
    @DisplayName("job files and data that cannot be read: one line naming the file (and line), no Java or Jackson text")
    void unreadableInputs() throws Exception {
        List<String> errors = new java.util.ArrayList<>();
        Files.createDirectories(dir.resolve("folder.yaml"));
        assertThat(Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err = new StringWriter()))
                .execute("train", dir.resolve("folder.yaml").toString())).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("gradus train: job file " + dir.resolve("folder.yaml") + " is a folder, not a file\n");
        errors.add(err.toString());

        Files.write(dir.resolve("latin1.yaml"), (TinyJob.yaml(2, "out") + "# caf\u00e9\n").getBytes(StandardCharsets.ISO_8859_1));
        assertThat(Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err = new StringWriter()))
                .execute("train", dir.resolve("latin1.yaml").toString())).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("gradus train: " + dir.resolve("latin1.yaml") + ": line 8: not UTF-8 text; save"
                + " the file as UTF-8\n");
        errors.add(err.toString());

        for (String record : List.of("null", "[1, 2]", "{\"text\": \"a\"} {\"text\": \"b\"}", "{\"text\": \"a\"")) {
            Files.writeString(dir.resolve("train.jsonl"), "{\"text\": \"fine\"}\n" + record + "\n");
            assertThat(train(TinyJob.yaml(2, "out"))).isNotZero();
            assertThat(err.toString()).startsWith("gradus train: job ").contains(" failed: " + dir.resolve("train.jsonl") + ":2: ");
            assertThat(err.toString().lines()).hasSize(1);
            errors.add(err.toString());
        }
        errors.forEach(io.gradus.core.fuzz.CleanLoad::assertReadable);
    }
}
