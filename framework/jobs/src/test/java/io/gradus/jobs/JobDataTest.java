package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.job.JobException;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
                assertThat(records.get(i).example().ids()).containsExactly(expected);
                boolean[] targets = records.get(i).example().targets();
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
            assertThat(records).extracting(r -> data.trainsOnText(r.example())).containsExactly(true, false, true, false);
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
}
