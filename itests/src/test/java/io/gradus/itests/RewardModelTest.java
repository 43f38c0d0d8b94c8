package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.cli.Gradus;
import io.gradus.core.llama.LlamaModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reward models end to end: {@code gradus score} on checkpoints PyTorch wrote, {@code gradus train}
 * with the {@code reward} objective (full fine-tuning and LoRA), what it saves read back by PyTorch,
 * and bad input refused before any step. The PyTorch side is
 * {@code plugins/reward/src/test/python/reward_reference.py}, an independent rendering of
 * transformers' LlamaForSequenceClassification and PEFT's SEQ_CLS adapters.
 */
@DisplayName("reward models: gradus score and train")
class RewardModelTest {

    private static final Path GOLDEN = Path.of("../plugins/reward/src/test/resources/golden");
    private static final Path SCRIPT = Path.of("../plugins/reward/src/test/python/reward_reference.py");

    @TempDir
    Path dir;

    private StringWriter err;

    @BeforeEach
    void distribution() {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
    }

    /** Runs a command; its exit code, with standard output in {@code out}. */
    private int gradus(StringWriter out, String... args) {
        return Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err = new StringWriter()))
                .execute(args);
    }

    private List<JsonNode> score(String... args) throws Exception {
        return scores(Stream.concat(Stream.of("score"), Stream.of(args)).toArray(String[]::new));
    }

    /** The JSON lines of a {@code gradus score} command. */
    private List<JsonNode> scores(String[] command) throws Exception {
        StringWriter out = new StringWriter();
        assertThat(gradus(out, command)).as(String.valueOf(err)).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString().lines().toList()) {
            lines.add(RunningHost.JSON.readTree(line));
        }
        return lines;
    }

    private static void assertClose(List<JsonNode> gradus, List<JsonNode> reference) {
        assertThat(gradus).hasSameSizeAs(reference);
        double max = 0;
        for (int i = 0; i < gradus.size(); i++) {
            assertThat(gradus.get(i).properties()).extracting(java.util.Map.Entry::getKey)
                    .containsExactlyElementsOf(reference.get(i).properties().stream().map(java.util.Map.Entry::getKey).toList());
            for (var field : reference.get(i).properties()) {
                max = Math.max(max, Math.abs(gradus.get(i).get(field.getKey()).asDouble() - field.getValue().asDouble()));
            }
        }
        assertThat(max).as("max |Gradus − PyTorch| over the scores").isLessThan(1e-4);
    }

    @Test
    @DisplayName("scores a LlamaForSequenceClassification folder and a PEFT SEQ_CLS adapter as PyTorch does, without tokenizer.json")
    void scoresPyTorchCheckpoints() throws Exception {
        JsonNode golden = RunningHost.JSON.readTree(GOLDEN.resolve("golden.json").toFile());
        // README's `gradus score --model DIR [--adapter A] --data FILE.jsonl`, without and with the adapter.
        List<JsonNode> pairs = scores(ReadmeCommands.inline("gradus score --model DIR", Map.of("DIR",
                GOLDEN.resolve("classifier").toString(), "FILE.jsonl", GOLDEN.resolve("pairs.jsonl").toString()), false));
        List<JsonNode> expected = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            expected.add(RunningHost.JSON.createObjectNode().put("chosen_score", golden.at("/chosen_scores/" + p).asDouble())
                    .put("rejected_score", golden.at("/rejected_scores/" + p).asDouble()));
        }
        assertClose(pairs, expected);

        List<JsonNode> adapted = scores(ReadmeCommands.inline("gradus score --model DIR", Map.of("DIR",
                GOLDEN.resolve("causal").toString(), "A", GOLDEN.resolve("seqcls-adapter").toString(), "FILE.jsonl",
                GOLDEN.resolve("sequences.jsonl").toString()), true));
        List<JsonNode> reference = new ArrayList<>();
        RunningHost.JSON.readTree(GOLDEN.resolve("adapter-golden.json").toFile()).get("scores").forEach(reference::add);
        assertClose(adapted, reference);
    }

    @Test
    @DisplayName("score refuses token ids the model has no embedding for, naming the data line and the files that disagree")
    void scoreRefusesIdsOutsideTheVocabulary() throws Exception {
        Path data = dir.resolve("ids.jsonl");
        Files.writeString(data, "{\"input_ids\": [1, 29]}\n{\"input_ids\": [1, 30]}\n");
        assertThat(gradus(new StringWriter(), "score", "--model", GOLDEN.resolve("classifier").toString(), "--data",
                data.toString())).isNotZero();
        assertThat(err.toString()).contains(data + ":2", "token id 30", "vocabulary of 30",
                GOLDEN.resolve("classifier/config.json").toString());

        // A tokenizer of 300 tokens beside a model of 40: its ids go past the model's embeddings.
        Path mismatched = dir.resolve("mismatched");
        List<String> texts = List.of("the cat sat on the mat", "a dog ran to the park", "the cat ran");
        io.gradus.core.tokenizer.BpeTrainer.write(io.gradus.core.tokenizer.BpeTrainer.train(texts, 300), mismatched);
        LlamaModel small = LlamaModel.initialize(new io.gradus.core.llama.LlamaConfig(40, 16, 32, 1, 2, 1, 8, 1e-5,
                10000.0, 64, false, 1, 2), 1);
        small.toSequenceClassifier(1);
        small.save(mismatched);
        Files.writeString(data, "{\"text\": \"the cat sat on the mat\"}\n");
        assertThat(gradus(new StringWriter(), "score", "--model", mismatched.toString(), "--data", data.toString()))
                .isNotZero();
        assertThat(err.toString()).contains(data + ":1", mismatched.resolve("tokenizer.json").toString(),
                mismatched.resolve("config.json").toString(), "vocabulary of 40", "does not belong to this model");
    }

    /**
     * A causal base without tokenizer.json (the golden one) and pre-tokenized pairs a reward model can
     * learn: chosen completions draw from tokens 3..15, rejected ones from 16..29.
     */
    private void writeJob(String tuner, String output, int steps) throws Exception {
        Random random = new Random(3);
        for (String split : List.of("train", "eval")) {
            StringBuilder jsonl = new StringBuilder();
            for (int i = 0; i < (split.equals("train") ? 64 : 16); i++) {
                jsonl.append("{\"prompt_input_ids\": [1, ").append(3 + random.nextInt(27)).append("], \"chosen_input_ids\": ")
                        .append(tokens(random, 3)).append(", \"rejected_input_ids\": ").append(tokens(random, 16)).append("}\n");
            }
            Files.writeString(dir.resolve(split + ".jsonl"), jsonl);
        }
        Files.writeString(dir.resolve("job.yaml"), """
                model: %s
                tuner: %s
                objective: {name: reward, config: {centerRewardsCoefficient: 0.01}}
                data: {train: train.jsonl, eval: eval.jsonl}
                hyper: {steps: %d, batchSize: 8, seqLen: 12, learningRate: 0.01, warmupSteps: 1, schedule: constant}
                output: %s
                """.formatted(GOLDEN.resolve("causal").toAbsolutePath(), tuner, steps, output));
    }

    private static String tokens(Random random, int from) {
        List<Integer> ids = new ArrayList<>();
        for (int t = 0; t < 2 + random.nextInt(6); t++) {
            ids.add(from + random.nextInt(14));
        }
        ids.add(2);
        return ids.toString();
    }

    @Test
    @DisplayName("trains a reward model (full fine-tuning, LoRA) that PyTorch scores as Gradus does, from pre-tokenized pairs")
    void trainsAndPyTorchReadsTheResult() throws Exception {
        writeJob("{name: full}", "full", 20);
        assertThat(gradus(new StringWriter(), "train", dir.resolve("job.yaml").toString())).as(String.valueOf(err)).isZero();
        writeJob("{name: lora, config: {r: 4, loraAlpha: 8, targetModules: [q_proj, v_proj]}}", "lora", 20);
        assertThat(gradus(new StringWriter(), "train", dir.resolve("job.yaml").toString())).as(String.valueOf(err)).isZero();

        for (String run : List.of("full", "lora")) {
            List<String> metrics = Files.readAllLines(dir.resolve(run + "/metrics.jsonl"));
            assertThat(RunningHost.JSON.readTree(metrics.getFirst()).at("/metrics/accuracy").isNumber()).isTrue();
            List<String> evals = Files.readAllLines(dir.resolve(run + "/eval.jsonl"));
            JsonNode last = RunningHost.JSON.readTree(evals.getLast());
            assertThat(last.get("accuracy").asDouble()).as("%s: held-out accuracy after training", run).isGreaterThan(0.8);
            assertThat(last.get("margin").asDouble()).isPositive();
            assertThat(last.get("loss").asDouble()).isLessThan(RunningHost.JSON.readTree(evals.getFirst()).get("loss").asDouble());
        }
        assertThat(LlamaModel.load(dir.resolve("full/model")).scoreHead()).isPresent();
        JsonNode adapterConfig = RunningHost.JSON.readTree(dir.resolve("lora/adapter/adapter_config.json").toFile());
        assertThat(adapterConfig.get("task_type").asText()).isEqualTo("SEQ_CLS");

        Processes.requireTorch();
        String data = dir.resolve("eval.jsonl").toString();
        assertClose(score("--model", dir.resolve("full/model").toString(), "--data", data),
                python(dir.resolve("full/model").toString(), "-", data));
        assertClose(score("--model", GOLDEN.resolve("causal").toString(), "--adapter", dir.resolve("lora/adapter").toString(),
                "--data", data), python(GOLDEN.resolve("causal").toString(), dir.resolve("lora/adapter").toString(), data));
    }

    private static List<JsonNode> python(String model, String adapter, String data) throws Exception {
        Processes.Result result = Processes.run("/usr/bin/python3", SCRIPT.toString(), "score", model, adapter, data);
        assertThat(result.exit()).as(result.output()).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : result.output().lines().toList()) {
            lines.add(RunningHost.JSON.readTree(line));
        }
        return lines;
    }

    @Test
    @DisplayName("empty completions are warnings naming their lines, as in SFT: the job trains")
    void warnsAboutEmptyCompletions() throws Exception {
        writeJob("{name: full}", "out", 2);
        List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("train.jsonl")));
        lines.set(2, "{\"prompt_input_ids\": [1, 5], \"chosen_input_ids\": [], \"rejected_input_ids\": [20, 2]}");
        lines.set(4, "{\"chosen_input_ids\": [4, 5, 6, 2], \"rejected_input_ids\": [4, 5, 6]}"); // all shared
        Files.write(dir.resolve("train.jsonl"), lines);
        StringWriter out = new StringWriter();
        assertThat(gradus(out, "train", dir.resolve("job.yaml").toString())).as(String.valueOf(err)).isZero();
        assertThat(out.toString()).contains("warning: " + dir.resolve("train.jsonl") + ": 2 records train on no text, only "
                + "special tokens (an empty completion or answer?): lines 3, 5");
    }

    @Test
    @DisplayName("bad pairs and a num_labels other than 1 are refused naming file, line and field, before any step")
    void refusesBadInput() throws Exception {
        writeJob("{name: full}", "out", 2);
        String good = Files.readAllLines(dir.resolve("train.jsonl")).getFirst();
        List<String[]> cases = List.of(
                new String[] {"{\"chosen_input_ids\": [4, 5, 2], \"rejected_input_ids\": [4, 5, 2]}", "are identical"},
                new String[] {"{\"chosen_input_ids\": [], \"rejected_input_ids\": [4, 2]}",
                    "\"chosen_input_ids\" is empty and there is no prompt"},
                new String[] {"{\"prompt_input_ids\": [1], \"chosen_input_ids\": [4, 2]}", "\"rejected_input_ids\" is missing"},
                new String[] {"{\"prompt\": \"x\", \"chosen\": \"a\"}", "\"rejected\" is missing"});
        for (String[] bad : cases) {
            Files.writeString(dir.resolve("train.jsonl"), good + "\n" + good + "\n" + bad[0] + "\n");
            assertThat(gradus(new StringWriter(), "train", dir.resolve("job.yaml").toString(), "--overwrite")).isNotZero();
            assertThat(err.toString()).as(bad[0]).contains("train.jsonl:3").contains(bad[1]);
            assertThat(dir.resolve("out/metrics.jsonl")).as("no step was run").doesNotExist();
        }

        Path classifier = dir.resolve("two-labels");
        Files.createDirectories(classifier);
        Files.copy(GOLDEN.resolve("classifier/model.safetensors"), classifier.resolve("model.safetensors"));
        ObjectNode config = (ObjectNode) RunningHost.JSON.readTree(GOLDEN.resolve("classifier/config.json").toFile());
        config.putObject("id2label").put("0", "bad").put("1", "good");
        RunningHost.JSON.writeValue(classifier.resolve("config.json").toFile(), config);
        Files.writeString(dir.resolve("train.jsonl"), good + "\n");
        Files.writeString(dir.resolve("job.yaml"), Files.readString(dir.resolve("job.yaml"))
                .replace(GOLDEN.resolve("causal").toAbsolutePath().toString(), classifier.toString()));
        assertThat(gradus(new StringWriter(), "train", dir.resolve("job.yaml").toString(), "--overwrite")).isNotZero();
        assertThat(err.toString()).contains(classifier.resolve("config.json").toString()).contains("id2label")
                .contains("num_labels 1");
        assertThat(dir.resolve("out/metrics.jsonl")).doesNotExist();
    }
}
