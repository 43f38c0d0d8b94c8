package io.gradus.core.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * An independent reading of a safetensors file that Gradus accepted, from the format's definition
 * alone and with exact (BigInteger) arithmetic: what the fuzzers compare a successful load with.
 * Also for other safetensors files a user hands over (a PEFT {@code adapter_model.safetensors}).
 */
public final class SafeTensorsReference {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensorsReference() {}

    /**
     * The tensors of a file Gradus accepted, decoded here from the format's definition alone: the
     * header must be a JSON object of tensors with a known dtype, integral non-negative dimensions,
     * and a byte range inside the data section whose length is the shape's element count times the
     * dtype's size (computed without overflow).
     */
    public static Map<String, float[]> decode(byte[] file) throws IOException {
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
    public static Map<String, List<Integer>> bits(Map<String, float[]> tensors) {
        Map<String, List<Integer>> bits = new LinkedHashMap<>();
        tensors.forEach((name, values) -> bits.put(name,
                IntStream.range(0, values.length).mapToObj(i -> Float.floatToRawIntBits(values[i])).toList()));
        return bits;
    }


    /** A safetensors file from its parts: the 8-byte little-endian length of {@code header}, the header, the data. */
    public static byte[] frame(byte[] header, byte[] data) {
        return ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).put(data).array();
    }

    /** The header of a well-formed safetensors file (a seed), as JSON. */
    public static JsonNode header(byte[] file) throws IOException {
        long length = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return JSON.readTree(new String(file, 8, Math.toIntExact(length), StandardCharsets.UTF_8));
    }

    /** The data section of a well-formed safetensors file (a seed). */
    public static byte[] data(byte[] file) {
        long length = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return java.util.Arrays.copyOfRange(file, Math.toIntExact(8 + length), file.length);
    }
}
