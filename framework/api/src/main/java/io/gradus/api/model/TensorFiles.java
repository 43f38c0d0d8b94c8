package io.gradus.api.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SequencedMap;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Reads and writes safetensors files for techniques that save weights of their own (adapters in
 * PEFT's layout), and the JSON configuration files that go beside them. Provided by the host, so
 * technique bundles need no file-format code.
 */
@ProviderType
public interface TensorFiles {

    /** Writes the tensors (name to shape and values, in order) as F32, atomically. */
    void write(Path file, SequencedMap<String, Parameter> tensors, Map<String, String> metadata) throws IOException;

    /**
     * Writes {@code content} as a JSON object, atomically: values are strings, numbers, booleans,
     * {@code null}, lists and maps of those (map keys are written with {@code String.valueOf}).
     */
    void writeJson(Path file, Map<String, ?> content) throws IOException;

    /** Reads every tensor of a safetensors file (F32, F16 or BF16) as floats, in file order. */
    SequencedMap<String, Parameter> read(Path file) throws IOException;
}
