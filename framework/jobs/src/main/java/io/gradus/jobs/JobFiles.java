package io.gradus.jobs;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import io.gradus.core.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads job files (JSON or YAML) and binds settings to typed records, with errors a person can act
 * on: the line, the field's path in the file, what was expected, and for a misspelt field the
 * valid names with the closest one first. Jackson's own messages (class names, "not marked as
 * ignorable", source excerpts) never reach the user.
 */
public final class JobFiles {

    // Whole-number settings refuse 10.5 rather than cutting it to 10 (found by JobInputsFuzzTest).
    // Text is still read as a number ("3e-4", which YAML 1.1 leaves a string) and a number as text.
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .build();
    private static final ObjectMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .build();

    private JobFiles() {}

    /**
     * The text of a job file.
     *
     * @throws JobException (INVALID) when the file does not exist, is a folder, is not UTF-8 text
     *     (naming the line) or cannot be read
     */
    public static String text(Path file) {
        if (Files.isDirectory(file)) {
            throw new JobException(JobException.Reason.INVALID, "job file " + file + " is a folder, not a file");
        }
        if (!Files.isRegularFile(file)) {
            throw new JobException(JobException.Reason.INVALID, "job file " + file + " does not exist");
        }
        try {
            return JsonFiles.text(file);
        } catch (IOException e) {
            throw new JobException(JobException.Reason.INVALID, e.getMessage(), e);
        }
    }

    /**
     * Binds a job file's text; JSON when it starts with '{', YAML otherwise (JSON is YAML, but
     * JSON's own parser gives better positions).
     *
     * @param source the file or request the text came from, for messages
     * @throws JobException (INVALID) naming the source, the line and the field
     */
    public static JobSpec read(String text, String source) {
        ObjectMapper mapper = mapperFor(text, source);
        try {
            return mapper.readValue(text, JobSpec.class);
        } catch (UnrecognizedPropertyException e) {
            // A YAML parser reports the position after the value; the line that names the field is the useful one.
            String where = lineOf(text, e.getPropertyName()).map(line -> "line " + line + ": ").orElse("");
            throw new JobException(JobException.Reason.INVALID, source + ": " + where
                    + explain(e).replaceFirst("^line \\d+: ", ""), e);
        } catch (JsonProcessingException e) {
            throw new JobException(JobException.Reason.INVALID, source + ": " + explain(e), e);
        }
    }

    /** JSON's mapper for a text that starts with '{', YAML's otherwise; an empty text is refused naming the source. */
    private static ObjectMapper mapperFor(String text, String source) {
        if (text == null || text.isBlank()) {
            throw new JobException(JobException.Reason.INVALID, source + ": the job file is empty");
        }
        return text.stripLeading().startsWith("{") ? JSON : YAML;
    }

    /**
     * The job file's text with a top-level field set to {@code value}, as JSON: what a command-line
     * option ({@code gradus train --adapter DIR}) says over the file.
     *
     * @throws JobException (INVALID) naming the source when the text is not an object of settings
     */
    public static String withField(String text, String source, String field, String value) {
        ObjectMapper mapper = mapperFor(text, source);
        try {
            if (!(mapper.readTree(text) instanceof com.fasterxml.jackson.databind.node.ObjectNode settings)) {
                throw new JobException(JobException.Reason.INVALID, source + ": a job file is an object of settings "
                        + "(name, model, tuner, objective, data, ...)");
            }
            settings.put(field, value);
            return JSON.writeValueAsString(settings);
        } catch (JsonProcessingException e) {
            throw new JobException(JobException.Reason.INVALID, source + ": " + explain(e), e);
        }
    }

    /**
     * {@code spec} with its paths made absolute: model, adapter, data and output relative to {@code base}
     * (the job file's folder), the output {@code defaultOutput} when the job names none.
     */
    public static JobSpec resolve(JobSpec spec, Path base, Path defaultOutput) {
        return spec.withPaths(
                spec.model() == null ? null : base.resolve(spec.model()).normalize().toString(),
                spec.adapter() == null ? null : base.resolve(spec.adapter()).normalize().toString(),
                new JobSpec.DataSpec(base.resolve(spec.data().train()).normalize().toString(),
                        spec.data().eval() == null ? null : base.resolve(spec.data().eval()).normalize().toString()),
                (spec.output() != null ? base.resolve(spec.output()) : defaultOutput).normalize().toString());
    }

    /** The 1-based line where {@code field} appears as a key, if it does. */
    private static Optional<Integer> lineOf(String text, String field) {
        Pattern key = Pattern.compile("(^|[\\s{,\"'])" + Pattern.quote(field)
                + "[\"']?\\s*:");
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (key.matcher(lines.get(i)).find()) {
                return Optional.of(i + 1);
            }
        }
        return Optional.empty();
    }

    /**
     * Binds a technique's {@code config} object to its configuration record.
     *
     * @param where how the config is named in messages, e.g. {@code tuner 'lora' config}
     * @throws JobException (INVALID) naming the field
     */
    public static <C> C bind(Map<String, Object> config, Class<C> type, String where) {
        try {
            return JSON.convertValue(config, type);
        } catch (IllegalArgumentException e) {
            Throwable cause = e.getCause() instanceof JsonProcessingException jpe ? jpe : e;
            String why = cause instanceof JsonProcessingException jpe ? explain(jpe) : String.valueOf(e.getMessage());
            throw new JobException(JobException.Reason.INVALID, where + ": " + why, e);
        }
    }

    /** One sentence for a binding error: where (line, field path) and what is wrong. */
    static String explain(JsonProcessingException e) {
        String where = location(e);
        String field = e instanceof JsonMappingException m ? path(m) : "";
        String what = switch (e) {
            case UnrecognizedPropertyException u -> unknownField(u);
            case InvalidFormatException f -> "field '" + field + "' must be " + typeName(f.getTargetType()) + ", got "
                    + quoted(f.getValue());
            case MismatchedInputException m when m.getTargetType() != null && !field.isEmpty() ->
                    "field '" + field + "' must be " + typeName(m.getTargetType()) + mismatchDetail(m);
            case MismatchedInputException m when m.getTargetType() != null ->
                    "expected " + typeName(m.getTargetType()) + " of settings" + mismatchDetail(m);
            case ValueInstantiationException v -> rootMessage(v);
            case JsonMappingException m when m.getCause() instanceof IllegalArgumentException iae -> iae.getMessage();
            default -> syntax(e);
        };
        return where.isEmpty() ? what : where + ": " + what;
    }

    private static String unknownField(UnrecognizedPropertyException u) {
        String name = u.getPropertyName();
        Collection<Object> known = u.getKnownPropertyIds();
        String parent = parentPath(u);
        String in = parent.isEmpty() ? "" : " in '" + parent + "'";
        if (known == null || known.isEmpty()) {
            return "unknown field '" + name + "'" + in;
        }
        List<String> valid = known.stream().map(String::valueOf).sorted().toList();
        String closest = valid.stream().min(Comparator.comparingInt(v -> editDistance(v.toLowerCase(), name.toLowerCase())))
                .orElseThrow();
        boolean close = editDistance(closest.toLowerCase(), name.toLowerCase()) <= Math.max(2, name.length() / 3);
        return "unknown field '" + name + "'" + in + (close ? "; did you mean '" + closest + "'?" : "")
                + " Valid fields: " + String.join(", ", valid);
    }

    private static String mismatchDetail(MismatchedInputException m) {
        String original = m.getOriginalMessage();
        // Jackson says "from String value ("abc")" or "from Array value": keep the value's kind.
        int from = original == null ? -1 : original.indexOf(" from ");
        if (from >= 0) {
            String rest = original.substring(from + 6);
            int colon = rest.indexOf(':');
            return ", got " + (colon >= 0 ? rest.substring(0, colon) : rest).replace("`", "").trim();
        }
        return "";
    }

    /** The innermost message: a record constructor's IllegalArgumentException, say. */
    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return message == null ? root.getClass().getSimpleName() : message;
    }

    private static String syntax(JsonProcessingException e) {
        if (e.getOriginalMessage() == null) {
            return "cannot read it";
        }
        // The core's wording of parser errors (no "[Source: ...]" of a start marker, no Java names);
        // the error's own line is added by the caller.
        String message = JsonFiles.describe(e).replaceFirst("^line \\d+, column \\d+: ", "");
        // Keep the first sentence; Jackson appends source excerpts and advice about its features.
        int cut = message.indexOf('\n');
        message = cut >= 0 ? message.substring(0, cut) : message;
        return "not valid JSON or YAML: " + message.replaceAll(" \\(for .*", "");
    }

    private static String location(JsonProcessingException e) {
        JsonLocation location = e.getLocation();
        return location == null || location.getLineNr() <= 0 ? "" : "line " + location.getLineNr();
    }

    private static String path(JsonMappingException m) {
        return m.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }

    private static String parentPath(JsonMappingException m) {
        var refs = m.getPath();
        return refs.subList(0, Math.max(0, refs.size() - 1)).stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }

    private static String typeName(Class<?> type) {
        if (type == null) {
            return "of another type";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (List.class.isAssignableFrom(type) || type.isArray()) {
            return "a list";
        }
        return "an object";
    }

    private static String quoted(Object value) {
        return value instanceof String s ? "\"" + s + "\"" : String.valueOf(value);
    }

    /** Levenshtein distance, for "did you mean". */
    static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
