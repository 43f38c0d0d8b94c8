package io.gradus.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.SafeTensorsReference;
import io.gradus.core.fuzz.ScratchFolder;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzes {@link SafeTensors} (header and data): every damaged file is either refused with a clean
 * error naming it, or read exactly as an independent decoding of the same bytes reads it.
 */
class SafeTensorsFuzzTest {

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

    @Property(tries = 3000, seed = Mutations.SEED)
    @Label("a safetensors file with a damaged header loads exactly or fails cleanly")
    void damagedHeaders(@ForAll("headers") Mutant input) throws IOException {
        loadOrFailCleanly(input);
    }

    @Property(tries = 3000, seed = Mutations.SEED)
    @Label("a safetensors file with damaged bytes loads exactly or fails cleanly")
    void damagedBytes(@ForAll("files") Mutant input) throws IOException {
        loadOrFailCleanly(input);
    }

    @Property(tries = 1000, seed = Mutations.SEED)
    @Label("random bytes named .safetensors fail cleanly")
    void noise(@ForAll("noise") Mutant input) throws IOException {
        loadOrFailCleanly(input);
    }

    @Example
    @Label("a header length of 2^40 is refused without allocating it, in a short file and in a (sparse) file that long")
    void headerLengthOf2To40() throws IOException {
        long claim = 1L << 40;
        byte[] prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(claim).array();
        Path small = scratch.write("claims-2-40.safetensors", prefix);
        try (RandomAccessFile f = new RandomAccessFile(small.toFile(), "rw")) {
            f.setLength(8 + SEED_HEADER.length());
        }
        // As long as the claim: the length fits the file, so only the reader's own bound stops it.
        Path sparse = scratch.write("sparse-2-40.safetensors", prefix);
        try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength(8 + claim + 64);
        }
        for (Path file : new Path[] {small, sparse}) {
            assertThat(CleanLoad.attempt(() -> {
                try (SafeTensors st = SafeTensors.open(file)) {
                    return st.tensors().size();
                }
            }, Duration.ofSeconds(10), 1 << 20, file)).as(file.getFileName().toString()).isEmpty();
            assertThatThrownBy(() -> SafeTensors.open(file)).hasMessageContaining(file.toString())
                    .hasMessageContaining("header length " + claim);
        }
        scratch.delete("sparse-2-40.safetensors");
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
            assertThat(SafeTensorsReference.bits(loaded.get())).as("read by Gradus vs decoded independently")
                    .isEqualTo(SafeTensorsReference.bits(SafeTensorsReference.decode(input.bytes())));
        }
    }

    /** A file: the 8-byte little-endian length of {@code header}, the header, the seed's data. */
    private static byte[] frame(byte[] header) {
        return SafeTensorsReference.frame(header, SEED_DATA);
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
