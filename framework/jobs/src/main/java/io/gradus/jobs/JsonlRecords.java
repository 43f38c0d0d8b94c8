package io.gradus.jobs;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.job.JobException;
import io.gradus.core.io.JsonFiles;
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
import java.util.Map;

/**
 * The records of a JSONL file: one JSON object per non-blank line, strict UTF-8. Every error names
 * the file and line and says what is wrong in words (a line that is not a JSON object, broken JSON
 * with its column, two values on a line, bytes that are not UTF-8, what the consumer of a record
 * refuses); nothing of the parser's internals. Jobs ({@link JobData}) and {@code gradus score} read
 * their data through it.
 */
public final class JsonlRecords {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What is done with each record. */
    @FunctionalInterface
    public interface Consumer {
        /**
         * @param line the record's 1-based line in its file
         * @throws IllegalArgumentException or {@link IllegalStateException} when the record cannot be
         *     used, with the reason; it is reported as {@code FILE:LINE: reason}
         */
        void accept(int line, Map<String, Object> record);
    }

    private JsonlRecords() {}

    /**
     * Hands the first {@code limit} records of {@code file} to {@code consumer}, in order (blank
     * lines are not records).
     *
     * @return how many records were read
     * @throws JobException (INVALID) naming the file and line of a record that is not a JSON object,
     *     is not UTF-8 or that the consumer refuses, or the file when it does not exist or has no record
     * @throws IOException when the file cannot be read
     */
    public static int read(Path file, int limit, Consumer consumer) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new JobException(JobException.Reason.INVALID, "data file " + file + " does not exist");
        }
        int records = 0;
        // Strict UTF-8, line by line: a file in another encoding is an error naming the line, not
        // replacement characters in the training data.
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (int lineNumber = 1; records < limit && nextLine(in, bytes); lineNumber++) {
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
                if (line.isBlank()) {
                    continue;
                }
                String where = file + ":" + lineNumber + ": ";
                Map<String, Object> record = parse(where, line);
                try {
                    consumer.accept(lineNumber, record);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    throw new JobException(JobException.Reason.INVALID, where + e.getMessage(), e);
                }
                records++;
            }
        }
        if (records == 0) {
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

    /** The line as a JSON object; {@code where} is the file and line that errors start with. */
    private static Map<String, Object> parse(String where, String line) {
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
        return JSON.convertValue(json, new TypeReference<Map<String, Object>>() {});
    }
}
