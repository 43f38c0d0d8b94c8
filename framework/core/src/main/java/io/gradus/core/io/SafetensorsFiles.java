package io.gradus.core.io;

import io.gradus.api.model.Parameter;
import io.gradus.api.model.TensorFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/** {@link TensorFiles} on the engine's safetensors reader and writer, as the host provides it to techniques. */
public final class SafetensorsFiles implements TensorFiles {

    @Override
    public void write(Path file, SequencedMap<String, Parameter> tensors, Map<String, String> metadata) throws IOException {
        var out = new LinkedHashMap<String, SafeTensors.Tensor>();
        tensors.forEach((name, p) -> out.put(name, new SafeTensors.Tensor(p.shape(), p.values())));
        SafeTensors.write(file, out, metadata);
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
