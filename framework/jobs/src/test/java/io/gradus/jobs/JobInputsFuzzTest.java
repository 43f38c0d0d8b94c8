package io.gradus.jobs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.ScratchFolder;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Fuzzes the loaders of the files a job is made of: job files ({@link JobFiles#read}) and JSONL
 * records read through an objective ({@link JobData#read}). Every input is read as written or
 * refused with an error that names the file and reads as a sentence ({@link CleanLoad}).
 */
class JobInputsFuzzTest {

    private static final String JOB = """
            {"name": "fuzz", "model": "base", "tuner": {"name": "lora", "version": "[1.0,2.0)",
             "config": {"r": 4, "targetModules": ["q_proj"]}}, "objective": {"name": "sft", "config": {}},
             "data": {"train": "train.jsonl", "eval": "eval.jsonl"},
             "hyper": {"steps": 10, "batchSize": 2, "seqLen": 16, "learningRate": 0.001, "warmupSteps": 1,
                       "schedule": "linear", "packing": false}, "output": "out", "seed": 7, "onUpdate": "rewire"}""";

    private static final String RECORD = "{\"text\": \"the cat sat on a mat\", \"id\": 3, \"tags\": [\"a\", \"b\"]}";

    private static final ScratchFolder SCRATCH = new ScratchFolder("job-inputs");

    /** The tiny world's model and data, built once for all tries. */
    private static TinyWorld world;
    private static JobData data;

    private static synchronized JobData data() throws IOException {
        if (data == null) {
            world = new TinyWorld(Files.createDirectories(SCRATCH.dir().resolve("world")));
            var spec = JobFiles.resolve(JobFiles.read(world.job(2, "out"), "job.yaml"), world.dir, world.dir.resolve("o"));
            data = JobData.open(spec, TinyWorld.catalog(), world.model);
        }
        return data;
    }

    @AfterContainer
    static void close() {
        if (data != null) {
            data.close();
        }
    }

    @Provide
    Arbitrary<Mutant> jobFiles() {
        return Mutations.damaged(Mutations.json(Mutations.parse(JOB)));
    }

    @Provide
    Arbitrary<Mutant> records() {
        return Mutations.damaged(Mutations.json(Mutations.parse(RECORD)));
    }

    @Property(tries = 2000, seed = Mutations.SEED)
    @Label("a damaged job file is read as written or refused cleanly")
    void damagedJobFiles(@ForAll("jobFiles") Mutant input) throws IOException {
        Path file = SCRATCH.write("job.json", input.bytes());
        CleanLoad.attempt(() -> refusedAsArgument(() -> JobFiles.read(JobFiles.text(file), file.toString())), file)
                .ifPresent(spec -> assertReadAsWritten(Mutations.parse(new String(input.bytes(), UTF_8)), spec));
    }

    @Property(tries = 2000, seed = Mutations.SEED)
    @Label("a damaged record among good ones is encoded as written or refused cleanly, naming the file and line")
    void damagedRecords(@ForAll("records") Mutant input) throws IOException {
        Path file = SCRATCH.write("train.jsonl", amongGoodRecords(RECORD, input));
        JobData data = data();
        CleanLoad.attempt(() -> refusedAsArgument(() -> data.read(file, Integer.MAX_VALUE)), file).ifPresent(records -> {
            assertThat(records.getFirst().line()).isEqualTo(1);
            for (JobData.Record record : records) {
                assertEncodedAsWritten(file, record);
            }
        });
    }

    /** What an accepted job file must have said: its name, techniques, data and seed as written. */
    private static void assertReadAsWritten(JsonNode json, JobSpec spec) {
        // Scalars are read as text where text is wanted (a tuner named 7 is "7"), never objects or lists.
        assertThat(json.path("tuner").path("name").isValueNode()).as("tuner.name is a value").isTrue();
        assertThat(spec.tuner().name()).isEqualTo(json.path("tuner").path("name").asText());
        assertThat(spec.objective().name()).isEqualTo(json.path("objective").path("name").asText());
        assertThat(spec.data().train()).isEqualTo(json.path("data").path("train").asText());
        JsonNode seed = json.get("seed");
        assertThat(spec.seed()).isEqualTo(seed == null || seed.isNull() ? 42L : seed.asLong());
        JsonNode steps = json.path("hyper").get("steps");
        if (steps != null && !steps.isNull()) {
            // A whole number, or text holding one (YAML leaves some numbers text); never a fraction cut short.
            assertThat(steps.isTextual() ? Long.valueOf(steps.asText().strip()) : (Object) steps.asLong())
                    .as("hyper.steps " + steps + " accepted").isEqualTo((long) spec.hyper().steps());
            assertThat(steps.isIntegralNumber() || steps.isTextual()).as("hyper.steps " + steps + " accepted").isTrue();
        }
    }

    /**
     * What an accepted record must have been: a JSON object whose {@code text} is a string, encoded as
     * BOS + its tokens + EOS (the pre-training objective), every token after the first a target.
     */
    private static void assertEncodedAsWritten(Path file, JobData.Record record) {
        try {
            JsonNode json = lineOf(file, record);
            assertThat(json.isObject()).as("line " + record.line() + " accepted as a record").isTrue();
            assertThat(json.path("text").isTextual()).as("text of line " + record.line()).isTrue();
            HfTokenizer tokenizer = data().tokenizer().orElseThrow();
            LlamaConfig config = LlamaConfig.read(world.model.resolve("config.json"));
            int[] expected = IntStream.concat(IntStream.concat(IntStream.of(config.bosTokenId()),
                    IntStream.of(tokenizer.tokenize(json.get("text").asText(), false).ids())), IntStream.of(config.eosTokenId()))
                    .toArray();
            assertThat(record.sequences().getFirst().ids()).containsExactly(expected);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JSONL of a damaged record between two good ones: the damaged one is line 2, unless it spans lines. */
    static byte[] amongGoodRecords(String good, Mutant damaged) throws IOException {
        ByteArrayOutputStream jsonl = new ByteArrayOutputStream();
        jsonl.write((good + "\n").getBytes(UTF_8));
        jsonl.write(damaged.bytes());
        jsonl.write(("\n" + good + "\n").getBytes(UTF_8));
        return jsonl.toByteArray();
    }

    /** The JSON of {@code record}'s line of {@code file}, as the test reads it (a byte-order mark dropped). */
    static JsonNode lineOf(Path file, JobData.Record record) {
        try {
            List<String> lines = List.of(Files.readString(file, UTF_8).split("\n", -1));
            return Mutations.parse(lines.get(record.line() - 1).strip().replaceFirst("^\uFEFF", ""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A job error is the loaders' clean refusal: the contract's {@link IllegalArgumentException}. */
    static <T> T refusedAsArgument(CleanLoad.Loader<T> load) throws Exception {
        try {
            return load.load();
        } catch (JobException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
