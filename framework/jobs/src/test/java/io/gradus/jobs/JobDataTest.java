package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobException;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Batching;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("A job's data as its objective encodes it")
class JobDataTest {

    @TempDir
    Path dir;

    private TinyWorld world;

    @BeforeEach
    void world() throws IOException {
        world = new TinyWorld(dir);
    }

    private JobData open() throws IOException {
        var spec = JobFiles.resolve(JobFiles.read(world.job(4, "out"), "job.yaml"), dir, dir.resolve("default-out"));
        return JobData.open(spec, TinyWorld.catalog(), world.model);
    }

    private Path write(String jsonl) throws IOException {
        return Files.writeString(dir.resolve("data.jsonl"), jsonl);
    }

    @Test
    @DisplayName("reads the records in order, each with its line, as the objective encodes it; a limit reads only the first")
    void readsThroughTheObjective() throws IOException {
        Path file = write("{\"text\": \"the cat sat.\"}\n\n  \n{\"text\": \"a dog ran\", \"id\": 7}\n{\"text\": \"the park\"}\n");
        try (JobData data = open(); HfTokenizer tokenizer = HfTokenizer.load(world.model)) {
            assertThat(data.objective().name()).isEqualTo("pretrain");
            List<JobData.Record> records = data.read(file, 100);
            assertThat(records).extracting(JobData.Record::line).containsExactly(1, 4, 5);
            // Pre-training: BOS + the text's tokens (no special tokens added) + EOS, every token after the first a target.
            String[] texts = {"the cat sat.", "a dog ran", "the park"};
            var config = io.gradus.core.llama.LlamaConfig.read(world.model.resolve("config.json"));
            for (int i = 0; i < texts.length; i++) {
                int[] plain = tokenizer.tokenize(texts[i], false).ids();
                int[] expected = IntStream.concat(IntStream.concat(IntStream.of(config.bosTokenId()), IntStream.of(plain)),
                        IntStream.of(config.eosTokenId())).toArray();
                assertThat(records.get(i).sequences().getFirst().ids()).containsExactly(expected);
                boolean[] targets = records.get(i).sequences().getFirst().targets();
                assertThat(targets[0]).isFalse();
                assertThat(IntStream.range(1, targets.length).allMatch(t -> targets[t])).isTrue();
            }
            assertThat(data.read(file, 2)).extracting(JobData.Record::line).containsExactly(1, 4);
        }
    }

    @Test
    @DisplayName("a line that is not a record is refused naming the file and line, in words: no class names, no parser internals")
    void badLines() throws IOException {
        Map<String, String> cases = Map.of(
                "[1, 2]", "a record must be a JSON object {...}, found an array",
                "null", "a record must be a JSON object {...}, found null",
                "42", "found a number",
                "\"the cat\"", "found a string",
                "{\"text\": \"a\"} {\"text\": \"b\"}", "more than one JSON value on the line (from column 15); a JSONL file holds one record per line",
                "{\"text\": \"a\"", "not valid JSON: column",
                "{text: 'a'}", "not valid JSON: column",
                "{\"text\": 5}", "a pre-training record needs a \"text\" string field",
                "{\"text\": \"a\", \"text\": \"b\"", "not valid JSON");
        try (JobData data = open()) {
            for (var bad : cases.entrySet()) {
                Path file = write("{\"text\": \"fine\"}\n\n" + bad.getKey() + "\n{\"text\": \"fine\"}\n");
                assertThatThrownBy(() -> data.read(file, 100)).as(bad.getKey()).isInstanceOf(JobException.class)
                        .hasMessageStartingWith(file + ":3: ").hasMessageContaining(bad.getValue())
                        .satisfies(e -> CleanLoad.assertReadable(e.getMessage()));
            }
            Path latin1 = dir.resolve("latin1.jsonl");
            Files.write(latin1, "{\"text\": \"ok\"}\n{\"text\": \"caf\u00e9\"}\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThatThrownBy(() -> data.read(latin1, 100)).hasMessage(latin1 + ":2: not UTF-8 text; save the file as UTF-8");
            assertThatThrownBy(() -> data.read(dir.resolve("missing.jsonl"), 100))
                    .hasMessage("data file " + dir.resolve("missing.jsonl") + " does not exist");
            Path blank = write("\n  \n");
            assertThatThrownBy(() -> data.read(blank, 100)).hasMessage("data file " + blank + " has no records");
        }
    }

    @Test
    @DisplayName("records that train on no text (only special tokens) are found and named by line in one warning")
    void recordsWithoutText() throws IOException {
        Path file = write("{\"text\": \"the cat\"}\n{\"text\": \"\"}\n{\"text\": \"a dog\"}\n\n{\"text\": \"  \"}\n");
        try (JobData data = open()) {
            List<JobData.Record> records = data.read(file, 100);
            assertThat(records).extracting(r -> data.trainsOnText(r.sequences().getFirst())).containsExactly(true, false, true, false);
            assertThat(data.warnAboutRecordsWithoutText(file, records)).contains("warning: " + file
                    + ": 2 records train on no text, only special tokens (an empty completion or answer?): lines 2, 5");
            assertThat(data.warnAboutRecordsWithoutText(file, records.subList(0, 1))).isEmpty();

            Path many = write("{\"text\": \"\"}\n".repeat(12));
            assertThat(data.warnAboutRecordsWithoutText(many, data.read(many, 100)).orElseThrow())
                    .endsWith("lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more");
        }
    }

    @Test
    @DisplayName("a job whose objective or model is not there is refused before anything is read")
    void refusals() throws IOException {
        var spec = JobFiles.resolve(JobFiles.read(world.job(4, "out").replace("name: pretrain", "name: dpo"), "job.yaml"), dir,
                dir.resolve("o"));
        assertThatThrownBy(() -> JobData.open(spec, TinyWorld.catalog(), world.model))
                .hasMessageContaining("no objective 'dpo' is installed; installed objectives: pretrain 1.0.0");
        var noModel = JobFiles.resolve(JobFiles.read(world.job(4, "out").replace("model: base", "model: nowhere"), "job.yaml"),
                dir, dir.resolve("o"));
        assertThatThrownBy(() -> JobData.open(noModel, TinyWorld.catalog(), world.model))
                .hasMessage("model folder " + dir.resolve("nowhere") + " has no config.json");
        assertThat(Arrays.asList(dir.toFile().list())).doesNotContain("o", "out");
    }

    /**
     * An objective that batches groups: {@code {"pair": [text, ...], "margin": m}} gives one sequence
     * per text, BOS + its tokens, every token after BOS trained; {@code "ids"} adds a sequence of
     * those ids as given. It trains every sequence of a group on next-token loss, and a single
     * {@code {"text"}} record (as {@code gradus score} would hand it one) is one such sequence.
     */
    private static final class Groups implements Objective<Object> {

        @Override
        public Class<Object> configType() {
            return Object.class;
        }

        @Override
        public String description() {
            return "pairs";
        }

        @Override
        public StepResult step(Object config, TokenBatch batch, ModelRunner runner, float gradScale) {
            return NextTokenLoss.step(batch, runner, gradScale);
        }

        @Override
        public Example encode(Object config, Map<String, Object> record, TextTokenizer tokenizer) {
            return Example.allTargets(tokenizer.withBos(tokenizer.encode((String) record.get("text"))));
        }

        @Override
        public Batching batching(Object config) {
            return Batching.GROUPS;
        }

        @Override
        @SuppressWarnings("unchecked")
        public SequenceGroup encodeGroup(Object config, Map<String, Object> record, TextTokenizer tokenizer) {
            List<Example> sequences = new ArrayList<>();
            for (String text : (List<String>) record.get("pair")) {
                sequences.add(Example.allTargets(tokenizer.withBos(tokenizer.encode(text))));
            }
            if (record.get("ids") instanceof List<?> ids) {
                sequences.add(Example.allTargets(ids.stream().mapToInt(i -> (Integer) i).toArray()));
            }
            return new SequenceGroup(sequences, record.get("margin") instanceof Number m
                    ? Map.of("margin", m.doubleValue()) : Map.of());
        }
    }

    private JobData withGroups() throws IOException {
        LlamaConfig config = LlamaConfig.read(world.model.resolve("config.json"));
        return new JobData(new Groups(), null, new TechniqueDescriptor("pairs", TechniqueFamily.OBJECTIVE, "1.0.0", "pairs",
                9, "test.pairs"), JobData.tokenizer(world.model), config, world.model);
    }

    @Test
    @DisplayName("packed windows and padded rows are taken in an order drawn from the job's seed")
    void seededOrder() throws IOException {
        StringBuilder records = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            records.append("{\"text\": \"the cat sat ").append(i).append(" times.\"}\n");
        }
        Path file = write(records.toString());
        for (String packing : List.of("true", "false")) {
            var hyper = JobFiles.read(world.job(4, "out").replace("schedule: linear", "schedule: linear, packing: " + packing),
                    "job.yaml").hyper();
            assertThat(hyper.packing()).isEqualTo(packing.equals("true"));
            try (JobData data = open()) {
                List<Integer> seven = firstBatches(data, file, hyper, 7);
                assertThat(firstBatches(data, file, hyper, 7)).as("packing %s, the same seed", packing).isEqualTo(seven);
                assertThat(firstBatches(data, file, hyper, 42)).as("packing %s, another seed", packing).isNotEqualTo(seven);
            }
        }
    }

    /** The token ids of the first four training batches with {@code seed}. */
    private static List<Integer> firstBatches(JobData data, Path file, Hyperparameters hyper, long seed)
            throws IOException {
        JobData.Batches batches = data.batches(file, null, hyper, 0, seed, said -> {});
        List<Integer> ids = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            Arrays.stream(batches.train().next().inputIds()).forEach(ids::add);
        }
        return ids;
    }

    @Test
    @DisplayName("an objective that batches groups: each record's sequences and values, by line; too long ones left out of "
            + "training and counted; a record of another size or with an id outside the vocabulary refused by line")
    void groups() throws IOException {
        Path file = write("""
                {"pair": ["the cat sat.", "the dog ran."], "margin": 0.5}

                {"pair": ["a mat", "the park and the cat and the dog and the mat and the park"]}
                {"pair": ["the dog", "a cat"]}
                """);
        var hyper = JobFiles.read(world.job(4, "out"), "job.yaml").hyper();
        try (JobData data = withGroups(); HfTokenizer tokenizer = HfTokenizer.load(world.model)) {
            assertThat(data.grouped()).isTrue();
            List<JobData.Record> records = data.read(file, 100);
            assertThat(records).extracting(JobData.Record::line).containsExactly(1, 3, 4);
            assertThat(records.getFirst().values()).containsExactly(Map.entry("margin", 0.5));
            assertThat(records.get(1).values()).isEmpty();
            int bos = LlamaConfig.read(world.model.resolve("config.json")).bosTokenId();
            assertThat(records.getFirst().sequences()).extracting(Example::ids).containsExactly(
                    IntStream.concat(IntStream.of(bos), IntStream.of(tokenizer.tokenize("the cat sat.", false).ids())).toArray(),
                    IntStream.concat(IntStream.of(bos), IntStream.of(tokenizer.tokenize("the dog ran.", false).ids())).toArray());

            // seqLen 8: the long pair of line 3 is left out, counted in the job's messages.
            var hyper8 = JobFiles.read(world.job(4, "out").replace("seqLen: 32", "seqLen: 8").replace("batchSize: 4",
                    "batchSize: 1"), "job.yaml").hyper();
            assertThat(data.leftOut(records.get(1), 8)).isTrue();
            assertThat(data.leftOut(records.getFirst(), 8)).isFalse();
            List<String> said = new ArrayList<>();
            JobData.Batches batches = data.batches(file, null, hyper8, 0, 42, said::add);
            assertThat(said).containsExactly(file + ": 1 of 3 records left out: a sequence is longer than seqLen 8");
            assertThat(batches.summary()).startsWith("2 groups of 2 sequences, ");
            assertThat(batches.heldOut()).isEmpty();
            // One group per batch, the pairs of lines 1 and 4 (records 0 and 2) in the epoch's order, each in two
            // adjacent rows.
            List<Integer> taken = new ArrayList<>();
            for (int b = 0; b < 2; b++) {
                TokenBatch batch = batches.train().next();
                taken.add(batch.groups().indices()[0]);
                JobData.Record expected = records.get(batch.groups().indices()[0]);
                assertThat(batch.batchSize()).isEqualTo(2);
                for (int row = 0; row < 2; row++) {
                    int[] ids = expected.sequences().get(row).ids();
                    assertThat(Arrays.copyOfRange(batch.inputIds(), row * 8, row * 8 + ids.length)).containsExactly(ids);
                    assertThat(batch.lengths()[row]).isEqualTo(ids.length);
                }
            }
            assertThat(taken).containsExactlyInAnyOrder(0, 2);

            Path threes = write("{\"pair\": [\"a\", \"b\"]}\n{\"pair\": [\"a\", \"b\", \"c\"]}\n");
            assertThatThrownBy(() -> data.batches(threes, null, hyper, 0, 42, said::add))
                    .hasMessage(threes + ":2: the record gives 3 sequences, the first one 2");
            Path outside = write("{\"pair\": [\"a\"], \"ids\": [3, 100000]}\n");
            assertThatThrownBy(() -> data.read(outside, 100)).hasMessage(outside + ":1: token id 100000 is outside the "
                    + "model's vocabulary of " + LlamaConfig.read(world.model.resolve("config.json")).vocabSize()
                    + " (vocab_size in " + world.model.resolve("config.json") + ")");
        }
    }

    @Test
    @DisplayName("a model folder without tokenizer.json: token ids are read and shown, text is refused in words by line")
    void withoutTokenizer() throws IOException {
        Path model = dir.resolve("ids-only");
        Files.createDirectories(model);
        Files.copy(world.model.resolve("config.json"), model.resolve("config.json"));
        LlamaConfig config = LlamaConfig.read(model.resolve("config.json"));
        try (JobData data = new JobData(new Groups(), null, new TechniqueDescriptor("pairs", TechniqueFamily.OBJECTIVE,
                "1.0.0", "pairs", 9, "test.pairs"), JobData.tokenizer(model), config, model)) {
            assertThat(data.tokenizer()).isEmpty();
            Path ids = write("{\"pair\": [], \"ids\": [5, 6, 7]}\n");
            JobData.Record record = data.read(ids, 100).getFirst();
            assertThat(record.sequences().getFirst().ids()).containsExactly(5, 6, 7);
            assertThat(data.trainsOnText(record.sequences().getFirst())).as("trained tokens, text unknown").isTrue();
            Path text = write("{\"pair\": [\"the cat\"]}\n");
            assertThatThrownBy(() -> data.read(text, 100)).hasMessageStartingWith(text + ":1: the model folder has no "
                    + "tokenizer.json, so text cannot be tokenized");
        }
    }
}
