package io.gradus.jobs;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.Example;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.core.io.JsonFiles;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A job's data as its objective encodes it: the JSONL file read record by record through
 * {@link Objective#encode}, with the model's tokenizer. {@link JobRun} trains on what this gives
 * and {@code gradus data} shows it, so the view and the training cannot differ.
 *
 * <p>Errors name the file and line and say what is wrong in words (a line that is not a JSON object,
 * broken JSON with its column, the objective's own refusal); nothing of the parser's internals.
 */
public final class JobData implements AutoCloseable {

    /** Lines listed by name in a warning; more are counted. */
    private static final int LINES_LISTED = 10;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One record as the objective encoded it.
     *
     * @param line the record's 1-based line in its file
     */
    public record Record(int line, Example example) {}

    private final Objective<Object> objective;
    private final Object config;
    private final TechniqueDescriptor descriptor;
    private final HfTokenizer tokenizer;
    private final TokenizerAdapter text;

    /**
     * @param tokenizer the model's tokenizer; closed with this
     * @param model the model's configuration (its BOS and EOS ids)
     */
    JobData(Objective<Object> objective, Object config, TechniqueDescriptor descriptor, HfTokenizer tokenizer,
            LlamaConfig model, Path modelDir) {
        this.objective = objective;
        this.config = config;
        this.descriptor = descriptor;
        this.tokenizer = tokenizer;
        this.text = TokenizerAdapter.of(tokenizer, model, modelDir);
    }

    /**
     * The data of a job as a job run would read it: its objective found in {@code catalog} and bound
     * to its settings, the tokenizer and configuration of its model.
     *
     * @param spec the job, every path absolute ({@link JobFiles#resolve})
     * @param defaultModel the model of a job that names none
     * @throws JobException (INVALID) for a technique that is not installed, settings that do not bind,
     *     a model folder without {@code config.json}
     * @throws IOException when the tokenizer or configuration cannot be read (naming the file)
     */
    @SuppressWarnings("unchecked")
    public static JobData open(JobSpec spec, TechniqueCatalog catalog, Path defaultModel) throws IOException {
        JobRun.Techniques techniques = JobRun.resolve(catalog, spec);
        Objective<Object> objective = (Objective<Object>) techniques.objective().technique();
        Object config = JobRun.bind(objective, spec.objective(), "objective");
        Path modelDir = modelFolder(spec, defaultModel);
        LlamaConfig model = LlamaConfig.read(modelDir.resolve("config.json"));
        return new JobData(objective, config, techniques.objective().descriptor(), HfTokenizer.load(modelDir), model,
                modelDir);
    }

    /**
     * The job's model folder: the one it names, or the built-in one.
     *
     * @throws JobException (INVALID) when the folder has no {@code config.json}
     */
    static Path modelFolder(JobSpec spec, Path defaultModel) {
        Path modelDir = spec.model() != null ? Path.of(spec.model()) : defaultModel;
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new JobException(JobException.Reason.INVALID, spec.model() != null
                    ? "model folder " + modelDir + " has no config.json"
                    : "the job names no model and the built-in one does not exist yet (" + modelDir
                            + "); create it with: ./gradus pretrain");
        }
        return modelDir;
    }

    /** The objective that encodes the records. */
    public TechniqueDescriptor objective() {
        return descriptor;
    }

    /** The model's tokenizer, to show tokens as text. */
    public HfTokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * Encodes the first {@code limit} records of {@code file} (blank lines are not records).
     *
     * @throws JobException (INVALID) naming the file and line of a record that is not a JSON object or
     *     that the objective refuses, or the file when it does not exist, is not UTF-8 or has no record
     */
    public List<Record> read(Path file, int limit) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new JobException(JobException.Reason.INVALID, "data file " + file + " does not exist");
        }
        List<Record> records = new ArrayList<>();
        // Strict UTF-8, line by line: a file in another encoding is an error naming the line, not
        // replacement characters in the training data.
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (int lineNumber = 1; records.size() < limit && nextLine(in, bytes); lineNumber++) {
                String line;
                try {
                    line = utf8.decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
                } catch (CharacterCodingException e) {
                    throw new JobException(JobException.Reason.INVALID, file + ":" + lineNumber
                            + ": not UTF-8 text; save the file as UTF-8", e);
                }
                if (lineNumber == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1); // a byte-order mark, as some editors write
                }
                if (!line.isBlank()) {
                    records.add(new Record(lineNumber, encode(file, lineNumber, line)));
                }
            }
        }
        if (records.isEmpty()) {
            throw new JobException(JobException.Reason.INVALID, "data file " + file + " has no records");
        }
        return records;
    }

    /** Reads the next line's bytes (without its line break) into {@code line}; false at the end of the input. */
    private static boolean nextLine(InputStream in, ByteArrayOutputStream line) throws IOException {
        line.reset();
        int b = in.read();
        if (b < 0) {
            return false;
        }
        for (; b >= 0 && b != '\n'; b = in.read()) {
            line.write(b);
        }
        return true;
    }

    private Example encode(Path file, int lineNumber, String line) {
        String where = file + ":" + lineNumber + ": ";
        JsonNode json;
        try (JsonParser parser = JSON.createParser(line)) {
            json = JSON.readTree(parser);
            if (parser.nextToken() != null) {
                throw new JobException(JobException.Reason.INVALID, where + "more than one JSON value on the line (from column "
                        + parser.currentTokenLocation().getColumnNr() + "); a JSONL file holds one record per line");
            }
        } catch (JsonProcessingException e) {
            // The parser counts lines within the line it was given: only the column says anything.
            throw new JobException(JobException.Reason.INVALID, where + "not valid JSON: "
                    + JsonFiles.describe(e).replaceFirst("^line \\d+, ", ""), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a parser over a string does no I/O
        }
        if (!json.isObject()) {
            throw new JobException(JobException.Reason.INVALID, where + "a record must be a JSON object {...}, found "
                    + JsonFiles.kind(json));
        }
        try {
            return objective.encode(config, JSON.convertValue(json, new TypeReference<Map<String, Object>>() {}), text);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new JobException(JobException.Reason.INVALID, where + e.getMessage(), e);
        }
    }

    /**
     * Whether a record trains on any text: whether its trained tokens, special tokens left out, decode
     * to more than whitespace. An empty completion or assistant answer trains only its end marker.
     */
    public boolean trainsOnText(Example example) {
        int[] ids = example.ids();
        int trained = 0;
        int[] targets = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (example.targets()[i]) {
                targets[trained++] = ids[i];
            }
        }
        return trained > 0 && !tokenizer.decode(Arrays.copyOf(targets, trained), true).isBlank();
    }

    /**
     * A warning about the records of {@code file} that train on no text (see {@link #trainsOnText}),
     * naming their lines; empty when every record trains on some text.
     */
    public Optional<String> warnAboutRecordsWithoutText(Path file, List<Record> records) {
        List<Integer> lines = records.stream().filter(r -> !trainsOnText(r.example())).map(Record::line).toList();
        if (lines.isEmpty()) {
            return Optional.empty();
        }
        String listed = lines.stream().limit(LINES_LISTED).map(String::valueOf).collect(Collectors.joining(", "))
                + (lines.size() > LINES_LISTED ? " and " + (lines.size() - LINES_LISTED) + " more" : "");
        return Optional.of("warning: " + file + ": " + (lines.size() == 1 ? "1 record trains" : lines.size() + " records train")
                + " on no text, only special tokens (an empty completion or answer?): line" + (lines.size() == 1 ? " " : "s ")
                + listed);
    }

    /** The examples of {@code records}, in order. */
    public static List<Example> examples(List<Record> records) {
        return records.stream().map(Record::example).toList();
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
