package io.gradus.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * One safetensors file, memory-mapped.
 *
 * <p>Format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
 * {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the end of the
 * header), an optional {@code "__metadata__"} object of strings, then the raw little-endian data.
 * Tensors are read straight from the mapping into {@code float[]} (or {@code byte[]} for U8);
 * nothing is copied twice.
 */
public final class SafeTensors implements AutoCloseable {

    /** Where one tensor lies in the file. */
    public record TensorInfo(String name, DType dtype, int[] shape, long begin, long end) {

        /** Number of elements. */
        public long elements() {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final Path file;
    private final Arena arena;
    private final MemorySegment data;
    private final SequencedMap<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, Arena arena, MemorySegment data, SequencedMap<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.file = file;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Maps {@code file} and reads its header.
     *
     * @throws IOException naming the file and what is wrong: missing, truncated, a malformed header,
     *     an unsupported dtype, or a tensor whose byte range does not match its shape
     */
    public static SafeTensors open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such safetensors file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new IOException(file + ": only " + size + " bytes, too short for a safetensors header (truncated file?)");
            }
            MemorySegment whole = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLength = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLength <= 0 || headerLength > MAX_HEADER || 8 + headerLength > size) {
                throw new IOException(file + ": header length " + headerLength + " does not fit in a file of " + size
                        + " bytes (not a safetensors file, or truncated)");
            }
            byte[] headerBytes = whole.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            JsonNode header = JsonFiles.parse(file, "the header", new String(headerBytes, StandardCharsets.UTF_8));
            if (!header.isObject()) {
                throw new IOException(file + ": the header is " + JsonFiles.kind(header)
                        + ", not an object of tensors (not a safetensors file?)");
            }
            MemorySegment data = whole.asSlice(8 + headerLength);
            SequencedMap<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> field : header.properties()) {
                if (field.getKey().equals("__metadata__")) {
                    readMetadata(file, field.getValue(), metadata);
                    continue;
                }
                TensorInfo info = tensorInfo(file, field.getKey(), field.getValue(), data.byteSize());
                tensors.put(info.name(), info);
            }
            return new SafeTensors(file, arena, data, tensors, Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The {@code __metadata__} object: a map of strings, as the format defines it. */
    private static void readMetadata(Path file, JsonNode node, Map<String, String> metadata) throws IOException {
        if (!node.isObject()) {
            throw new IOException(file + ": __metadata__ is " + JsonFiles.kind(node) + ", not an object of strings");
        }
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual()) {
                throw new IOException(file + ": __metadata__ entry " + m.getKey() + " is " + JsonFiles.kind(m.getValue())
                        + ", not a string");
            }
            metadata.put(m.getKey(), m.getValue().asText());
        }
    }

    /**
     * One tensor's entry, checked against the format: a known dtype, dimensions that are
     * non-negative integers, a byte range [begin, end) inside the data section whose length is the
     * element count times the dtype's size. Every product is computed exactly: a header that claims
     * 2^40 elements (or dimensions whose product wraps around 2^64) is refused, never allocated.
     */
    private static TensorInfo tensorInfo(Path file, String name, JsonNode node, long dataBytes) throws IOException {
        String where = file + ": tensor " + name;
        if (!node.isObject()) {
            throw new IOException(where + " is " + JsonFiles.kind(node) + ", not an object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = node.path("dtype");
        DType dtype = dtypeNode.isTextual() ? DType.fromHeader(dtypeNode.asText()) : null;
        if (dtype == null) {
            throw new IOException(where + " has dtype " + (dtypeNode.isMissingNode() ? "(none)" : dtypeNode.toString())
                    + "; Gradus reads F32, F16, BF16 and U8");
        }
        JsonNode shapeNode = node.path("shape");
        if (!shapeNode.isArray()) {
            throw new IOException(where + " has no shape array");
        }
        int[] shape = new int[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode dim = shapeNode.get(i);
            if (!dim.isIntegralNumber() || !dim.canConvertToInt() || dim.intValue() < 0) {
                throw new IOException(where + " has an invalid shape " + shapeNode
                        + " (dimensions are integers from 0 to " + Integer.MAX_VALUE + ")");
            }
            shape[i] = dim.intValue();
            elements = multiply(where, elements, shape[i], shapeNode);
        }
        JsonNode offsets = node.path("data_offsets");
        if (!offsets.isArray() || offsets.size() != 2 || !offsets.get(0).isIntegralNumber()
                || !offsets.get(1).isIntegralNumber() || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong()) {
            throw new IOException(where + " has no valid data_offsets (two integers [begin, end])"
                    + (offsets.isMissingNode() ? "" : ": " + offsets));
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (begin < 0 || end < begin || end > dataBytes) {
            throw new IOException(where + " needs bytes [" + begin + ", " + end
                    + ") of a data section of " + dataBytes + " bytes (truncated file?)");
        }
        long bytes = multiply(where, elements, dtype.bytes(), shapeNode);
        if (end - begin != bytes) {
            throw new IOException(where + " of shape " + Arrays.toString(shape) + " and dtype "
                    + dtype + " needs " + bytes + " bytes but has " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long multiply(String where, long a, long b, JsonNode shape) throws IOException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IOException(where + " has shape " + shape + ", more bytes than any file holds");
        }
    }

    public Path file() {
        return file;
    }

    /** The tensors, in the order of the header. */
    public SequencedMap<String, TensorInfo> tensors() {
        return Collections.unmodifiableSequencedMap(tensors);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** Reads one tensor as floats, whatever its stored dtype. */
    public float[] read(String name) throws IOException {
        TensorInfo info = info(name);
        float[] out = new float[(int) info.elements()];
        info.dtype().toFloats(data, info.begin(), out, out.length);
        return out;
    }

    /** Reads one U8 tensor's bytes. */
    public byte[] readBytes(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.dtype() != DType.U8) {
            throw new IOException(file + ": tensor " + name + " has dtype " + info.dtype() + "; U8 was expected");
        }
        return data.asSlice(info.begin(), info.elements()).toArray(ValueLayout.JAVA_BYTE);
    }

    private TensorInfo info(String name) throws IOException {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new IOException(file + ": no tensor named " + name);
        }
        if (info.elements() > Integer.MAX_VALUE - 8) {
            throw new IOException(file + ": tensor " + name + " has " + info.elements() + " elements, more than a Java array holds");
        }
        return info;
    }

    @Override
    public void close() {
        arena.close();
    }

    /**
     * Writes {@code tensors} (name to shape and F32 values or U8 bytes, in order) to {@code file}
     * atomically: a reader never sees half a file, and a failure leaves any previous file in place.
     */
    public static void write(Path file, SequencedMap<String, ? extends Writable> tensors, Map<String, String> metadata)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (var entry : tensors.entrySet()) {
            Writable t = entry.getValue();
            ObjectNode node = header.putObject(entry.getKey());
            node.put("dtype", t.dtype().name());
            var shape = node.putArray("shape");
            for (int d : t.shape()) {
                shape.add(d);
            }
            long bytes = t.dtype().bytes() * t.elements();
            node.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        // Pad the header with spaces to a multiple of 8 so the data is aligned for readers that map it.
        int padded = (json.length + 7) & ~7;
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".part");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(length.array());
            out.write(json);
            out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
            ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (Writable t : tensors.values()) {
                switch (t) {
                    case Tensor f -> {
                        for (float v : f.values()) {
                            if (!chunk.hasRemaining()) {
                                out.write(chunk.array(), 0, chunk.position());
                                chunk.clear();
                            }
                            chunk.putFloat(v);
                        }
                    }
                    case U8Tensor u -> {
                        out.write(chunk.array(), 0, chunk.position());
                        chunk.clear();
                        out.write(u.bytes());
                    }
                }
            }
            out.write(chunk.array(), 0, chunk.position());
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** A tensor to write: F32 values or U8 bytes, with a shape. */
    public sealed interface Writable permits Tensor, U8Tensor {
        int[] shape();

        DType dtype();

        /** Number of elements. */
        long elements();
    }

    /** A tensor to write: its shape and F32 values. */
    public record Tensor(int[] shape, float[] values) implements Writable {
        @Override
        public DType dtype() {
            return DType.F32;
        }

        @Override
        public long elements() {
            return values.length;
        }
    }

    /** A tensor to write: its shape and U8 bytes. */
    public record U8Tensor(int[] shape, byte[] bytes) implements Writable {
        @Override
        public DType dtype() {
            return DType.U8;
        }

        @Override
        public long elements() {
            return bytes.length;
        }
    }
}
