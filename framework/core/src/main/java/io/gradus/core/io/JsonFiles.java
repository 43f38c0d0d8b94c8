package io.gradus.core.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads the JSON files users hand to Gradus ({@code config.json}, {@code tokenizer_config.json},
 * index files, safetensors headers) so that a broken file gives a sentence a person can act on:
 * the file, the line and column, and what the parser expected, without the parser's internals
 * (Jackson's {@code [Source: ...]} locations, class and method names).
 */
public final class JsonFiles {

    /**
     * One document per file, as Python's {@code json} module reads it: anything after the document
     * but white space is an error, not ignored (a file cut and pasted into twice, an editor's leftover).
     */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private JsonFiles() {}

    /**
     * The JSON document in {@code file}.
     *
     * @throws NoSuchFileException when there is no such regular file
     * @throws IOException naming the file, line and column when it is not JSON, and the line when it
     *     is not UTF-8 text
     */
    public static JsonNode read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        // Decoded here: JSON files are UTF-8 (RFC 8259), and the parser's own detection would take
        // four leading zero bytes for UTF-32 and fail with a message naming no file.
        String text = text(file);
        JsonNode json;
        try {
            json = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + describe(e), e);
        }
        if (json == null || json.isMissingNode()) {
            throw new IOException(file + ": the file is empty; expected JSON");
        }
        return json;
    }

    /**
     * The JSON object in {@code file}: as {@link #read}, and an error naming the file when the
     * document is not an object (an array, a number, an empty file).
     */
    public static JsonNode readObject(Path file) throws IOException {
        JsonNode json = read(file);
        if (!json.isObject()) {
            throw new IOException(file + ": expected a JSON object {...}, found " + kind(json));
        }
        return json;
    }

    /**
     * Parses {@code text}, a part of {@code file} ({@code what}: "the header", say).
     *
     * @throws IOException naming the file, the part, the line and column when it is not JSON
     */
    public static JsonNode parse(Path file, String what, String text) throws IOException {
        try {
            JsonNode json = JSON.readTree(text);
            // An empty text parses to a missing node; report it as what it is.
            if (json == null || json.isMissingNode()) {
                throw new IOException(file + ": " + what + " is empty");
            }
            return json;
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": " + what + " is not valid JSON: " + describe(e), e);
        }
    }

    /**
     * The text of a UTF-8 file (JSON, YAML, a job file).
     *
     * @throws IOException naming the file and the line of the first byte that is not UTF-8
     */
    public static String text(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        CharBuffer text = CharBuffer.allocate(bytes.length);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        if (StandardCharsets.UTF_8.newDecoder().decode(in, text, true).isError()) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) {
                line += bytes[i] == '\n' ? 1 : 0;
            }
            throw new IOException(file + ": line " + line + ": not UTF-8 text; save the file as UTF-8");
        }
        return text.flip().toString();
    }

    /** A parser's complaint as a sentence: where (line and column) and what it expected. */
    public static String describe(JsonProcessingException e) {
        // The original message leaves out the error's own location but may hold another one
        // ("expected close marker for Object (start marker at [Source: REDACTED ...; line: 1,
        // column: 1])"), and constraint violations name a Java method in backquotes ("exceeds the
        // maximum allowed (1000, from `StreamReadConstraints.getMaxNestingDepth()`)").
        String message = String.valueOf(e.getOriginalMessage())
                .replaceAll("\\[Source: .*?; line: (\\d+), column: (\\d+)\\]", "line $1, column $2")
                .replaceAll(",? from `[^`]*`", "");
        if (message.startsWith("Trailing token")) {
            // "Trailing token (of type X) found after value (bound as `...JsonNode`): not allowed as per `...`"
            message = "more follows the end of the JSON document; a file holds one document";
        }
        JsonLocation at = e.getLocation();
        if (at == null || at.getLineNr() < 1) {
            return message;
        }
        return "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": " + message;
    }

    /** {@code value} as JSON text for a message, cut to 60 characters ("..." at the end when cut). */
    public static String shortly(JsonNode value) {
        String text = value.toString();
        return text.length() > 60 ? text.substring(0, 57) + "..." : text;
    }

    /** What kind of JSON value {@code node} is, in words. */
    public static String kind(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case OBJECT -> "an object";
            case ARRAY -> "an array";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> "a value";
        };
    }
}
