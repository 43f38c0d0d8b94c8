package io.gradus.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;

/**
 * The weight files of a Hugging Face model folder, open (memory-mapped) together so that tensors
 * are found by name whichever file holds them: {@code model.safetensors}, or the shards listed in
 * {@code model.safetensors.index.json}. A quantized weight's companion tensors may sit in another
 * shard than the weight itself.
 */
public final class WeightFiles implements AutoCloseable {

    private final List<SafeTensors> files;
    private final SequencedMap<String, SafeTensors> byName;

    private WeightFiles(List<SafeTensors> files, SequencedMap<String, SafeTensors> byName) {
        this.files = files;
        this.byName = byName;
    }

    /**
     * Opens the weight files of {@code dir}.
     *
     * @throws IOException naming the folder or file: no weights, a malformed index, a tensor that two
     *     files both hold
     */
    public static WeightFiles open(Path dir) throws IOException {
        List<SafeTensors> files = new ArrayList<>();
        SequencedMap<String, SafeTensors> byName = new LinkedHashMap<>();
        try {
            for (Path path : paths(dir)) {
                SafeTensors file = SafeTensors.open(path);
                files.add(file);
                for (String name : file.tensors().keySet()) {
                    SafeTensors other = byName.putIfAbsent(name, file);
                    if (other != null) {
                        throw new IOException(path + ": tensor " + name + " is also in " + other.file());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            files.forEach(SafeTensors::close);
            throw e;
        }
        return new WeightFiles(files, byName);
    }

    private static List<Path> paths(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        Path index = dir.resolve("model.safetensors.index.json");
        if (!Files.isRegularFile(index)) {
            throw new NoSuchFileException(dir.toString(), null, "no model.safetensors or model.safetensors.index.json");
        }
        JsonNode weightMap = JsonFiles.readObject(index).path("weight_map");
        if (!weightMap.isObject()) {
            throw new IOException(index + ": no weight_map object");
        }
        Set<String> shards = new TreeSet<>();
        for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
            JsonNode shard = entry.getValue();
            // A shard is a file of this folder: no paths that would read files elsewhere.
            if (!shard.isTextual() || !shard.asText().matches("[^/\\\\]+") || shard.asText().matches("\\.+")) {
                throw new IOException(index + ": weight_map entry " + entry.getKey() + " must name a file of the folder, found "
                        + shard);
            }
            shards.add(shard.asText());
        }
        List<Path> files = new ArrayList<>();
        for (String shard : shards) {
            try {
                files.add(dir.resolve(shard));
            } catch (InvalidPathException e) { // a character the file system refuses (NUL, say)
                throw new IOException(index + ": weight_map names " + JsonNodeFactory.instance.textNode(shard)
                        + ", which cannot be a file name: " + e.getReason(), e);
            }
        }
        return files;
    }

    /** Every tensor name, file by file in header order. */
    public Set<String> names() {
        return Collections.unmodifiableSequencedMap(byName).sequencedKeySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The file that holds {@code name}. */
    public SafeTensors file(String name) throws IOException {
        SafeTensors file = byName.get(name);
        if (file == null) {
            throw new IOException("no tensor " + name + " in " + paths());
        }
        return file;
    }

    /** Where {@code name} lies: dtype, shape and bytes. */
    public SafeTensors.TensorInfo info(String name) throws IOException {
        return file(name).tensors().get(name);
    }

    /** Reads {@code name} as floats, whatever its stored dtype. */
    public float[] read(String name) throws IOException {
        return file(name).read(name);
    }

    /** Reads the bytes of the U8 tensor {@code name}. */
    public byte[] readBytes(String name) throws IOException {
        return file(name).readBytes(name);
    }

    /** The files, in the order they were opened. */
    public List<Path> paths() {
        return files.stream().map(SafeTensors::file).toList();
    }

    @Override
    public void close() {
        files.forEach(SafeTensors::close);
    }
}
