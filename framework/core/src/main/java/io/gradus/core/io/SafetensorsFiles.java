package io.gradus.core.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TensorFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/** {@link TensorFiles} on the engine's safetensors reader and writer (and Jackson for JSON), as the host provides it to techniques. */
public final class SafetensorsFiles implements TensorFiles {

    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    @Override
    public void write(Path file, SequencedMap<String, Parameter> tensors, Map<String, String> metadata) throws IOException {
        var out = new LinkedHashMap<String, SafeTensors.Tensor>();
        tensors.forEach((name, p) -> out.put(name, new SafeTensors.Tensor(p.shape(), p.values())));
        SafeTensors.write(file, out, metadata);
    }

    /** Written to a temporary file beside {@code file}, then moved over it: never half a file. */
    @Override
    public void writeJson(Path file, Map<String, ?> content) throws IOException {
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".part");
        try {
            JSON.writeValue(tmp.toFile(), content);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public SequencedMap<String, Parameter> read(Path file) throws IOException {
        SequencedMap<String, Parameter> tensors = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (SafeTensors.TensorInfo info : st.tensors().values()) {
                try {
                    tensors.put(info.name(), new Parameter(info.name(), info.shape(), st.read(info.name())));
                } catch (IllegalArgumentException e) { // a shape a parameter cannot have (a zero dimension)
                    throw new IOException(file + ": tensor " + info.name() + ": " + e.getMessage(), e);
                }
            }
        }
        return tensors;
    }
}
