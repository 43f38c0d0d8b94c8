package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.kernel.Nf4;
import io.gradus.api.model.Linear;
import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.api.model.QuantizedWeight;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quantizing while loading keeps the float model from ever existing in full: the live heap (after a
 * full collection) is sampled each time the loader hands over a linear module, for a model whose
 * float linear weights dominate (~80 MB float). A measurement, not a timing: it prints its figures.
 */
class Nf4LoadMemoryTest {

    private static final LlamaConfig CONFIG = new LlamaConfig(256, 512, 1536, 6, 8, 8, 64, 1e-5, 10000.0, 64, false, 1, 2);
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    @TempDir
    Path dir;

    /** Wraps {@code transform} so that it records the highest live heap above {@code baseline} it sees. */
    private static final class PeakHeap implements LinearTransform {
        final LinearTransform transform;
        final long baseline;
        long peak;

        PeakHeap(LinearTransform transform) {
            this.transform = transform;
            this.baseline = liveHeap();
        }

        @Override
        public Linear apply(String name, Linear loaded) {
            Linear kept = transform.apply(name, loaded);
            peak = Math.max(peak, liveHeap() - baseline);
            return kept;
        }
    }

    private static long liveHeap() {
        System.gc();
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    @Test
    @DisplayName("loading with the NF4 transform never holds the float linear weights; the frozen base costs ≤ 0.53 bytes per weight")
    void neverHoldsTheFloatModel() throws IOException {
        LlamaModel.initialize(CONFIG, 1).save(dir);
        long floatBytes = 4L * CONFIG.numLayers() * (2L * CONFIG.hiddenSize() * CONFIG.hiddenSize()
                + 2L * CONFIG.hiddenSize() * CONFIG.numKvHeads() * CONFIG.headDim()
                + 3L * CONFIG.hiddenSize() * CONFIG.intermediateSize());

        // The measurement first, on a plain load: it must see the float model grow to its full size.
        PeakHeap plain = new PeakHeap(LinearTransform.NONE);
        LlamaModel.load(dir, plain);
        PeakHeap quantizing = new PeakHeap((name, loaded) ->
                QuantizedLinear.nf4(loaded.parameters().getFirst(), Nf4.DEFAULT_BLOCK_SIZE, true));
        LlamaModel model = LlamaModel.load(dir, quantizing);

        long nf4Bytes = model.quantizedWeights().stream().mapToLong(QuantizedWeight::bytes).sum();
        long weights = model.quantizedWeights().stream().mapToLong(QuantizedWeight::size).sum();
        double bytesPerWeight = (double) nf4Bytes / weights;
        System.out.printf("float linear weights %.1f MB; live heap while loading: %.1f MB plain, %.1f MB quantizing "
                + "(NF4 base %.1f MB, %.4f bytes per weight)%n", floatBytes / 1e6, plain.peak / 1e6, quantizing.peak / 1e6,
                nf4Bytes / 1e6, bytesPerWeight);

        assertThat(plain.peak).as("live heap of a plain load").isGreaterThan(floatBytes * 9 / 10);
        // NF4 modules so far, one float matrix being quantized, the float embeddings and head.
        assertThat(quantizing.peak).as("live heap of a quantizing load").isLessThan(floatBytes / 4);
        assertThat(bytesPerWeight).isLessThanOrEqualTo(0.53);
    }
}
