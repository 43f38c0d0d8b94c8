package io.gradus.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    @DisplayName("F32 tensors round-trip through write and read, with shapes, order and metadata")
    void roundTrip() throws IOException {
        var tensors = new LinkedHashMap<String, SafeTensors.Tensor>();
        tensors.put("b", new SafeTensors.Tensor(new int[] {2, 3}, new float[] {1, -2, 3.5f, 0, Float.MIN_VALUE, -0f}));
        tensors.put("a", new SafeTensors.Tensor(new int[] {1}, new float[] {42}));
        Path file = dir.resolve("model.safetensors");
        SafeTensors.write(file, tensors, Map.of("format", "pt"));

        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.tensors().keySet()).containsExactly("b", "a");
            assertThat(st.tensors().get("b").shape()).containsExactly(2, 3);
            assertThat(st.read("b")).containsExactly(1, -2, 3.5f, 0, Float.MIN_VALUE, -0f);
            assertThat(st.read("a")).containsExactly(42);
            assertThat(st.metadata()).containsEntry("format", "pt");
        }
        // The data section starts 8-byte aligned, as the format recommends.
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLength % 8).isZero();
    }

    @Test
    @DisplayName("U8 tensors round-trip as bytes beside F32 ones, and read as floats 0..255; F32 is not read as bytes")
    void bytes() throws IOException {
        var tensors = new LinkedHashMap<String, SafeTensors.Writable>();
        tensors.put("f", new SafeTensors.Tensor(new int[] {2}, new float[] {0.5f, -1}));
        tensors.put("u", new SafeTensors.U8Tensor(new int[] {3, 1}, new byte[] {0, 127, (byte) 255}));
        tensors.put("g", new SafeTensors.Tensor(new int[] {1}, new float[] {7}));
        Path file = dir.resolve("bytes.safetensors");
        SafeTensors.write(file, tensors, Map.of());

        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.tensors().get("u").dtype()).isEqualTo(DType.U8);
            assertThat(st.tensors().get("u").shape()).containsExactly(3, 1);
            assertThat(st.readBytes("u")).containsExactly(0, 127, (byte) 255);
            assertThat(st.read("u")).containsExactly(0f, 127f, 255f);
            assertThat(st.read("f")).containsExactly(0.5f, -1f);
            assertThat(st.read("g")).containsExactly(7f);
            assertThatThrownBy(() -> st.readBytes("f")).hasMessageContaining("tensor f has dtype F32");
        }
    }

    @Test
    @DisplayName("F16 and BF16 tensors widen to the exact float values of their bit patterns")
    void halfPrecision() throws IOException {
        // F16: 0x3C00 = 1, 0xC000 = -2, 0x7BFF = 65504 (largest normal), 0x0001 = 2^-24 (smallest subnormal).
        // BF16: 0x3F80 = 1, 0x4049 = 3.140625, 0xC2F7 = -123.5.
        Path file = handMade("""
                {"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"g":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]}}""",
                new short[] {0x3C00, (short) 0xC000, 0x7BFF, 0x0001, 0x3F80, 0x4049, (short) 0xC2F7});
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.read("h")).containsExactly(1f, -2f, 65504f, (float) Math.pow(2, -24));
            assertThat(st.read("g")).containsExactly(1f, 3.140625f, -123.5f);
        }
    }

    @Test
    @DisplayName("broken files are refused with the file, the tensor and the reason")
    void clearErrors() throws IOException {
        assertThatThrownBy(() -> SafeTensors.open(dir.resolve("missing.safetensors")))
                .isInstanceOf(NoSuchFileException.class).hasMessageContaining("missing.safetensors");

        Path truncated = handMade("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new short[] {1, 2});
        assertThatThrownBy(() -> SafeTensors.open(truncated))
                .hasMessageContaining(truncated.toString()).hasMessageContaining("tensor w").hasMessageContaining("truncated");

        Path ints = handMade("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new short[] {1, 0, 0, 0});
        assertThatThrownBy(() -> SafeTensors.open(ints)).hasMessageContaining("tensor ids").hasMessageContaining("I64");

        Path wrongShape = handMade("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new short[] {0, 0, 0, 0});
        assertThatThrownBy(() -> SafeTensors.open(wrongShape)).hasMessageContaining("tensor w").hasMessageContaining("needs 12 bytes");

        Path notSafetensors = dir.resolve("x.safetensors");
        Files.writeString(notSafetensors, "hello world, this is text");
        assertThatThrownBy(() -> SafeTensors.open(notSafetensors)).hasMessageContaining("header length");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"null", "[]", "\"__metadata__\"", "42"})
    @DisplayName("a header that is not a JSON object is refused, not read as a file without tensors (found by fuzzing)")
    void headerNotAnObject(String header) throws IOException {
        Path file = handMade(header, new short[0]);
        assertThatThrownBy(() -> SafeTensors.open(file)).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("not an object of tensors");
    }

    @ParameterizedTest(name = "shape {0}")
    @ValueSource(strings = {"[1099511627776]", "[4294967296, 1]", "[65536, 65536, 65536, 65536]", "[1.5]", "[-1]", "[\"2\"]"})
    @DisplayName("dimensions past 2^31, products past 2^63, fractions and text are refused, never allocated nor truncated (found by fuzzing)")
    void impossibleShapes(String shape) throws IOException {
        // Each of these was read before: 2^40 became 0 (an int cast), 2^64 elements wrapped to 0,
        // 1.5 became 1, and the offsets [0, 0] or [0, 4] then matched.
        Path empty = handMade("{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,0]}}", new short[0]);
        Path four = handMade("{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]}}", new short[] {0, 0});
        for (Path file : List.of(empty, four)) {
            assertThatThrownBy(() -> SafeTensors.open(file)).isInstanceOf(IOException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("tensor w");
        }
    }

    @Test
    @DisplayName("offsets and metadata of the wrong type are refused, not read as 0 or as empty text (found by fuzzing)")
    void wrongTypes() throws IOException {
        Path textOffsets = handMade("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[\"a\",\"b\"]}}", new short[0]);
        assertThatThrownBy(() -> SafeTensors.open(textOffsets)).hasMessageContaining("tensor w").hasMessageContaining("data_offsets");
        Path metadata = handMade("{\"__metadata__\":{\"format\":{\"pt\":1}}}", new short[0]);
        assertThatThrownBy(() -> SafeTensors.open(metadata)).hasMessageContaining("__metadata__ entry format");
    }

    @Test
    @DisplayName("a header that is not JSON is reported with its line and column, without the parser's internals (found by fuzzing)")
    void malformedHeader() throws IOException {
        Path file = handMade("{\"w\":{\"dtype\":\"F32\",\n\"shape\":[0]]}}", new short[0]);
        assertThatThrownBy(() -> SafeTensors.open(file)).hasMessageContaining(file.toString())
                .hasMessageContaining("the header is not valid JSON: line 2, column 12")
                .hasMessageNotContaining("Source").hasMessageNotContaining("REDACTED");
    }

    /** A safetensors file from a literal header and raw 16-bit words. */
    private Path handMade(String header, short[] words) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(8 + json.length + 2 * words.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(json.length).put(json);
        for (short w : words) {
            buffer.putShort(w);
        }
        Path file = Files.createTempFile(dir, "hand", ".safetensors");
        Files.write(file, buffer.array());
        return file;
    }
}
