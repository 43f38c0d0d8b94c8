package io.gradus.core.llama;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.SafeTensorsReference;
import io.gradus.core.fuzz.ScratchFolder;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzes {@link LlamaModel#load} over a model folder: one of its files damaged at a time (the
 * config, the weights' header, the weights' bytes, a shard index). The folder is refused with a
 * clean error, or loaded as written: the config as {@link LlamaConfigFuzzTest#assertReadAsWritten}
 * says, every parameter bit for bit what an independent decoding of the weights file holds, and a
 * forward pass runs.
 */
class LlamaModelFuzzTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend(new ForkJoinPool(1));

    /** The seed folder's files: a 2-layer GQA model with untied embeddings. */
    private static final Map<String, byte[]> SEED = seedFiles();

    private static final String WEIGHTS = "model.safetensors";

    private final ScratchFolder scratch = new ScratchFolder("model-fuzz");

    /** A model folder with one file replaced by {@code content}. */
    record DamagedFolder(String file, Mutant content) {
        @Override
        public String toString() {
            return file + ": " + content;
        }
    }

    @Provide
    Arbitrary<DamagedFolder> folders() {
        byte[] weights = SEED.get(WEIGHTS);
        byte[] data = SafeTensorsReference.data(weights);
        Arbitrary<Mutant> headers;
        try {
            headers = Mutations.json(SafeTensorsReference.header(weights))
                    .map(m -> m.withBytes(SafeTensorsReference.frame(m.bytes(), data)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Arbitraries.oneOf(
                Mutations.json(Mutations.parse(LlamaConfigFuzzTest.SEED)).map(m -> new DamagedFolder("config.json", m)),
                headers.map(m -> new DamagedFolder(WEIGHTS, m)),
                Mutations.bytes(weights).map(m -> new DamagedFolder(WEIGHTS, m)));
    }

    @Provide
    Arbitrary<Mutant> indexes() {
        return Mutations.json(Mutations.parse(new String(SEED.get("model.safetensors.index.json"), UTF_8)));
    }

    @Property(tries = 3000, seed = Mutations.SEED)
    @Label("a model folder with a damaged config or weights file loads as written or is refused cleanly")
    void damagedFolders(@ForAll("folders") DamagedFolder input) throws IOException {
        scratch.delete("model.safetensors.index.json");
        scratch.write("config.json", SEED.get("config.json"));
        scratch.write(WEIGHTS, SEED.get(WEIGHTS));
        scratch.write(input.file(), input.content().bytes());
        loadOrFailCleanly(List.of(WEIGHTS));
    }

    @Property(tries = 1000, seed = Mutations.SEED)
    @Label("a sharded model folder with a damaged index loads as written or is refused cleanly")
    void damagedIndexes(@ForAll("indexes") Mutant index) throws IOException {
        scratch.delete(WEIGHTS);
        scratch.write("config.json", SEED.get("config.json"));
        scratch.write("shard-1.safetensors", SEED.get(WEIGHTS));
        scratch.write("model.safetensors.index.json", index.bytes());
        loadOrFailCleanly(List.of("shard-1.safetensors"));
    }

    private void loadOrFailCleanly(List<String> weightFiles) throws IOException {
        Path dir = scratch.dir();
        CleanLoad.attempt(() -> LlamaModel.load(dir), dir).ifPresent(model -> {
            try {
                assertLoadedAsWritten(dir, weightFiles, model);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static void assertLoadedAsWritten(Path dir, List<String> weightFiles, LlamaModel model) throws IOException {
        LlamaConfigFuzzTest.assertReadAsWritten(Mutations.parse(Files.readString(dir.resolve("config.json"))), model.config());
        Map<String, float[]> written = new java.util.HashMap<>();
        for (String file : weightFiles) {
            written.putAll(SafeTensorsReference.decode(Files.readAllBytes(dir.resolve(file))));
        }
        for (Parameter p : model.parameters()) {
            assertThat(written).as("tensors written").containsKey(p.name());
            assertThat(SafeTensorsReference.bits(Map.of(p.name(), p.values())))
                    .isEqualTo(SafeTensorsReference.bits(Map.of(p.name(), written.get(p.name()))));
        }
        // A forward pass over as many positions as the model has, up to 3.
        int vocab = model.config().vocabSize();
        int seq = Math.min(3, model.config().maxPositions());
        int[] ids = java.util.stream.IntStream.range(0, seq).map(i -> i % vocab).toArray();
        assertThat(new LlamaEngine(model, KERNELS).forward(TokenBatch.nextToken(1, seq, ids))).hasSize(seq * vocab);
    }

    /** config.json, model.safetensors and an index that puts every tensor in shard-1.safetensors. */
    private static Map<String, byte[]> seedFiles() {
        try {
            Path dir = Files.createTempDirectory("model-fuzz-seed");
            LlamaConfig config = LlamaConfig.read(Files.write(dir.resolve("config.json"), LlamaConfigFuzzTest.SEED.getBytes(UTF_8)));
            LlamaModel.initialize(config, 7).save(dir);
            StringBuilder index = new StringBuilder("{\"metadata\":{\"total_size\":0},\"weight_map\":{");
            for (String name : LlamaModel.expectedShapes(config, false).keySet()) {
                index.append(index.charAt(index.length() - 1) == '{' ? "" : ",").append('"').append(name)
                        .append("\":\"shard-1.safetensors\"");
            }
            index.append("}}");
            Map<String, byte[]> files = Map.of(
                    "config.json", LlamaConfigFuzzTest.SEED.getBytes(UTF_8),
                    WEIGHTS, Files.readAllBytes(dir.resolve(WEIGHTS)),
                    "model.safetensors.index.json", index.toString().getBytes(UTF_8));
            try (var stale = Files.list(dir)) {
                for (Path f : stale.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
