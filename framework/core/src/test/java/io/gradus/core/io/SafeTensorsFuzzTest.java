package io.gradus.core.io;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.ScratchFolder;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzes {@link SafeTensors} (header and data): every damaged file is either refused with a clean
 * error naming it, or read exactly as an independent decoding of the same bytes reads it.
 */
class SafeTensorsFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A valid file: three dtypes, a scalar-free shape, a zero-size tensor, metadata. */
    private static final String SEED_HEADER = """
            {"__metadata__":{"format":"pt"},\
            "w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},\
            "h":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},\
            "b":{"dtype":"BF16","shape":[1,3],"data_offsets":[32,38]},\
            "e":{"dtype":"F32","shape":[0,5],"data_offsets":[38,38]}}""";

    private static final byte[] SEED_DATA = seedData();

    private final ScratchFolder scratch = new ScratchFolder("safetensors-fuzz");

    @Provide
    Arbitrary<Mutant> headers() {
        // Header edits re-framed with the right length, so the JSON itself is what the reader meets.
        return Mutations.damaged(Mutations.json(Mutations.parse(SEED_HEADER)).map(m -> m.withBytes(frame(m.bytes()))));
    }

    @Provide
    Arbitrary<Mutant> files() {
        return Mutations.bytes(frame(SEED_HEADER.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<Mutant> noise() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(96).map(Mutant::seed);
    }

    @Property(tries = 1500)
    @Label("a safetensors file with a damaged header loads exactly or fails cleanly")
    void damagedHeaders(@ForAll("headers") Mutant input) throws IOException {
        loadOrFailCleanly(input);
    }

    @Property(tries = 1500)
    @Label("a safetensors file with damaged bytes loads exactly or fails cleanly")
    void damagedBytes(@ForAll("files") Mutant input) throws IOException {
        loadOrFailCleanly(input);
    }

    @Property(tries = 500)
    @Label("random bytes named .safetensors fail cleanly")
    void noise(@ForAll("noise") Mutant input) throws IOException {
        loadOrFailCleanly(input);
    }

    private void loadOrFailCleanly(Mutant input) throws IOException {
        Path file = scratch.write("model.safetensors", input.bytes());
        Optional<Map<String, float[]>> loaded = CleanLoad.attempt(() -> {
            try (SafeTensors st = SafeTensors.open(file)) {
                Map<String, float[]> values = new LinkedHashMap<>();
                for (String name : st.tensors().keySet()) {
                    values.put(name, st.read(name));
                }
                return values;
            }
        }, file);
        if (loaded.isPresent()) {
            assertThat(bits(loaded.get())).as("read by Gradus vs decoded independently")
                    .isEqualTo(bits(decodeIndependently(input.bytes())));
        }
    }

    /**
     * The tensors of a file Gradus accepted, decoded here from the format's definition alone: the
     * header must be a JSON object of tensors with a known dtype, integral non-negative dimensions,
     * and a byte range inside the data section whose length is the shape's element count times the
     * dtype's size (computed without overflow).
     */
    private static Map<String, float[]> decodeIndependently(byte[] file) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = buffer.getLong(0);
        JsonNode header = JSON.readTree(new String(file, 8, Math.toIntExact(headerLength), StandardCharsets.UTF_8));
        assertThat(header.isObject()).as("accepted header is an object").isTrue();
        long dataStart = 8 + headerLength;
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            String dtype = t.path("dtype").asText();
            int size = switch (dtype) {
                case "F32" -> 4;
                case "F16", "BF16" -> 2;
                default -> throw new AssertionError("accepted dtype " + t.get("dtype"));
            };
            BigInteger elements = BigInteger.ONE;
            for (JsonNode d : t.path("shape")) {
                assertThat(d.isIntegralNumber() && d.bigIntegerValue().signum() >= 0).as("accepted dimension " + d).isTrue();
                elements = elements.multiply(d.bigIntegerValue());
            }
            JsonNode offsets = t.path("data_offsets");
            assertThat(offsets.size() == 2 && offsets.get(0).isIntegralNumber() && offsets.get(1).isIntegralNumber())
                    .as("accepted data_offsets " + offsets).isTrue();
            BigInteger begin = offsets.get(0).bigIntegerValue();
            BigInteger end = offsets.get(1).bigIntegerValue();
            assertThat(begin.signum() >= 0 && end.compareTo(begin) >= 0
                    && end.compareTo(BigInteger.valueOf(file.length - dataStart)) <= 0).as("accepted range " + offsets).isTrue();
            assertThat(end.subtract(begin)).as("bytes of " + e.getKey()).isEqualTo(elements.multiply(BigInteger.valueOf(size)));
            float[] values = new float[elements.intValueExact()];
            int at = Math.toIntExact(dataStart + begin.longValueExact());
            for (int i = 0; i < values.length; i++) {
                values[i] = switch (size) {
                    case 4 -> buffer.getFloat(at + 4 * i);
                    default -> dtype.equals("F16") ? Float.float16ToFloat(buffer.getShort(at + 2 * i))
                            : Float.intBitsToFloat((buffer.getShort(at + 2 * i) & 0xFFFF) << 16);
                };
            }
            tensors.put(e.getKey(), values);
        }
        return tensors;
    }

    /** Each tensor's values as their bit patterns, in order: NaNs and signed zeros compare exactly. */
    private static Map<String, List<Integer>> bits(Map<String, float[]> tensors) {
        Map<String, List<Integer>> bits = new LinkedHashMap<>();
        tensors.forEach((name, values) -> bits.put(name,
                IntStream.range(0, values.length).mapToObj(i -> Float.floatToRawIntBits(values[i])).toList()));
        return bits;
    }

    /** A file: the 8-byte little-endian length of {@code header}, the header, the seed's data. */
    private static byte[] frame(byte[] header) {
        return ByteBuffer.allocate(8 + header.length + SEED_DATA.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).put(SEED_DATA).array();
    }

    private static byte[] seedData() {
        ByteBuffer data = ByteBuffer.allocate(38).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : new float[] {1, -2, 3.5f, 0, Float.MIN_VALUE, -0f}) {
            data.putFloat(v);
        }
        for (short h : new short[] {0x3C00, (short) 0xC000, 0x7BFF, 0x0001, 0x3F80, 0x4049, (short) 0xC2F7}) {
            data.putShort(h);
        }
        return data.array();
    }
}
