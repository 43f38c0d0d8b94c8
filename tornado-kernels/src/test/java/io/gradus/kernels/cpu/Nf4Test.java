package io.gradus.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.kernel.MatmulLayout;
import io.gradus.api.kernel.Nf4;
import io.gradus.api.kernel.Nf4DoubleQuant;
import io.gradus.kernels.cpu.MatmulTest.Shape;
import io.gradus.kernels.reference.Nf4Kernels;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class Nf4Test {

    private final CpuKernelBackend cpu = new CpuKernelBackend(new ForkJoinPool(2));

    @Test
    @DisplayName("quantization is bit-identical to the PyTorch rendering of bitsandbytes' algorithm (nf4_reference.py)")
    void quantizeMatchesGolden() throws IOException {
        JsonNode golden;
        try (InputStream in = Nf4Test.class.getResourceAsStream("/nf4/golden.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        Nf4 q = Nf4.quantize(floats(golden.get("x")), golden.get("blockSize").asInt());

        assertThat(q.packed()).containsExactly(bytes(golden.get("packed")));
        assertThat(q.absmax()).containsExactly(floats(golden.get("absmax")));
    }

    @Test
    @DisplayName("dequantization equals the reference kernel, and every value is within half a code gap of the input")
    void dequantize() {
        Random random = new Random(7);
        float[] x = gaussian(random, 64 * 40 + 17, 0.02f);
        Nf4 q = Nf4.quantize(x, Nf4.DEFAULT_BLOCK_SIZE);
        float[] fast = new float[x.length];
        float[] reference = new float[x.length];

        cpu.nf4Dequantize(fast, q.packed(), q.absmax(), q.n(), q.blockSize());
        Nf4Kernels.dequantize(reference, q.packed(), q.absmax(), Nf4.code(), q.blockSize(), 0, x.length);

        assertThat(fast).containsExactly(reference);
        // The widest gap between neighbouring codes is −0.6962 − (−1) = 0.3038, so no value moves by
        // more than half of it times its block's scale.
        for (int i = 0; i < x.length; i++) {
            assertThat(Math.abs(fast[i] - x[i])).isLessThanOrEqualTo(0.1519f * q.absmax()[i / q.blockSize()] + 1e-7f);
        }
        // 4 bits per weight plus a float per 64: 0.5625 bytes per parameter for whole blocks.
        assertThat(Nf4.quantize(new float[64 * 40], 64).bytesPerElement()).isEqualTo(0.5 + 4.0 / 64);
    }

    /**
     * n = 1061 is two whole groups of 512 columns and a partial one whose last panel is partial too
     * on any vector width up to 512 bits; k = 296 is a whole block of 256 and a partial one; m = 9 a
     * 6-row tile and 3 rows over. {@link #shapesReachEveryPath} checks it against the kernels' constants.
     */
    static List<Shape> shapes() {
        List<Shape> shapes = new ArrayList<>();
        for (MatmulLayout layout : new MatmulLayout[] {MatmulLayout.ABT, MatmulLayout.AB}) {
            shapes.add(new Shape(layout, 9, 1061, 296, false));
            shapes.add(new Shape(layout, 9, 1061, 296, true));
            shapes.add(new Shape(layout, 12, 1024, 256, layout == MatmulLayout.AB)); // whole groups, blocks, tiles
            // a last group read in place: a pair of panels, a lone one and a partial one, from column 512
            shapes.add(new Shape(layout, 9, CpuKernelBackend.NF4_GROUP + 3 * VectorMatmul.NR + 1, 296, true));
        }
        shapes.add(new Shape(MatmulLayout.ABT, 37, 150, 96, false));
        shapes.add(new Shape(MatmulLayout.ABT, 5, 64, 200, true));
        shapes.add(new Shape(MatmulLayout.AB, 37, 96, 150, false));
        shapes.add(new Shape(MatmulLayout.AB, 8, 130, 70, true));
        return shapes;
    }

    @Test
    @DisplayName("the test shapes reach every path of the fused NF4 matmul, by the kernels' own blocking constants")
    void shapesReachEveryPath() {
        Set<String> reached = new TreeSet<>();
        shapes().forEach(s -> reached.addAll(KernelPaths.nf4Matmul(s.layout(), s.m(), s.n(), s.k(), s.accumulate())));
        Set<String> every = new TreeSet<>();
        for (MatmulLayout layout : new MatmulLayout[] {MatmulLayout.ABT, MatmulLayout.AB}) {
            every.addAll(KernelPaths.nf4Matmul(layout, VectorMatmul.MR + 1, 2 * CpuKernelBackend.NF4_GROUP + 1,
                    VectorMatmul.KC + 1, true));
            every.addAll(KernelPaths.nf4Matmul(layout, VectorMatmul.MR + 1, CpuKernelBackend.NF4_GROUP + 3 * VectorMatmul.NR + 1,
                    VectorMatmul.KC + 1, true));
            every.add("NF4 " + layout + ": overwrite");
        }
        assertThat(every).as("every path").hasSize(2 * (VectorMatmul.PANEL_PAIRS ? 13 : 12));
        assertThat(reached).as("paths reached by the test shapes").containsAll(every);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    @DisplayName("the fused NF4 matmul equals the reference kernel and the float matmul of the dequantized weight")
    void fusedMatmul(Shape shape) {
        MatmulLayout layout = shape.layout();
        int m = shape.m();
        int n = shape.n();
        int k = shape.k();
        boolean accumulate = shape.accumulate();
        Random random = new Random(m + 31L * n + 1009L * k);
        float[] a = gaussian(random, m * k, 1f);
        Nf4 w = Nf4.quantize(gaussian(random, n * k, 0.05f), Nf4.DEFAULT_BLOCK_SIZE);
        float[] start = gaussian(random, m * n, 1f);
        float[] dense = new float[n * k];
        cpu.nf4Dequantize(dense, w.packed(), w.absmax(), w.n(), w.blockSize());

        float[] fused = start.clone();
        float[] reference = start.clone();
        float[] viaFloats = start.clone();
        cpu.nf4Matmul(layout, fused, a, w.packed(), w.absmax(), w.blockSize(), m, n, k, accumulate);
        if (layout == MatmulLayout.ABT) {
            Nf4Kernels.matmulAbt(reference, a, w.packed(), w.absmax(), Nf4.code(), w.blockSize(), n, k, accumulate ? 1 : 0, 0, m);
        } else {
            Nf4Kernels.matmulAb(reference, a, w.packed(), w.absmax(), Nf4.code(), w.blockSize(), n, k, accumulate ? 1 : 0, 0, m);
        }
        cpu.matmul(layout, viaFloats, a, dense, m, n, k, accumulate);

        // Same products, summed in a different order: float rounding of k terms of size ~0.05.
        float tolerance = 1e-5f * k;
        for (int i = 0; i < fused.length; i++) {
            assertThat(fused[i]).as("element %d vs reference", i).isCloseTo(reference[i], offset(tolerance));
            assertThat(fused[i]).as("element %d vs dequantized", i).isCloseTo(viaFloats[i], offset(tolerance));
        }
    }

    @Test
    @DisplayName("double quantization is bit-identical to the PyTorch rendering of bitsandbytes' algorithm, a partial block of 256 included")
    void doubleQuantizeMatchesGolden() throws IOException {
        JsonNode golden;
        try (InputStream in = Nf4Test.class.getResourceAsStream("/nf4/double-quant.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        int n = golden.get("n").asInt();
        int blockSize = golden.get("blockSize").asInt();
        // The reference's input, built the same way: small integers times powers of two, exact in float.
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            long block = i / blockSize;
            x[i] = (float) ((i * 7919L + 13) % 2001 - 1000) * ((block * 37 % 23 + 1) * 0x1p-16f);
        }
        Nf4DoubleQuant q = Nf4DoubleQuant.quantize(x, blockSize);

        assertThat(Nf4DoubleQuant.dynamicMap()).containsExactly(floats(golden.get("dynamicMap")));
        assertThat(q.packed()).containsExactly(bytes(golden.get("packed")));
        assertThat(Nf4.quantize(x, blockSize).absmax()).containsExactly(floats(golden.get("absmax")));
        assertThat(q.offset()).isEqualTo((float) golden.get("offset").asDouble());
        assertThat(q.absmax()).containsExactly(bytes(golden.get("absmaxCodes")));
        assertThat(q.nestedAbsmax()).hasSize(3).containsExactly(floats(golden.get("nestedAbsmax")));
        float[] scales = floats(golden.get("scales"));
        assertThat(q.scales()).containsExactly(scales);

        // Dequantized, every element is code · scale, exactly; the reference printed every 97th.
        float[] fast = new float[n];
        float[] reference = new float[n];
        cpu.nf4Dequantize(fast, q.packed(), q.absmax(), q.nestedAbsmax(), q.offset(), n, blockSize);
        Nf4Kernels.dequantizeDoubleQuant(reference, q.packed(), q.absmax(), q.nestedAbsmax(), Nf4.code(),
                Nf4DoubleQuant.dynamicMap(), q.offset(), blockSize, 0, n);
        assertThat(fast).containsExactly(reference);
        float[] sampled = floats(golden.get("weights"));
        for (int s = 0; s < sampled.length; s++) {
            assertThat(fast[97 * s]).as("element %d", 97 * s).isEqualTo(sampled[s]);
        }
    }

    @Test
    @DisplayName("double-quantized scales: within half a step of the dynamic map of the float scales, ~0.516 bytes per weight")
    void doubleQuantizedScalesAreClose() {
        Random random = new Random(11);
        float[] x = gaussian(random, 64 * 700 + 5, 0.02f);
        Nf4 plain = Nf4.quantize(x, 64);
        Nf4DoubleQuant compressed = Nf4DoubleQuant.compress(plain);
        float[] scales = compressed.scales();
        for (int b = 0; b < scales.length; b++) {
            // The map's widest step below 1 is 1 − 0.99296875 and its coarsest steps are ~1.4% apart
            // near ±1: a decoded scale stays within 1% of the nested block's range.
            float range = compressed.nestedAbsmax()[b / Nf4DoubleQuant.NESTED_BLOCK_SIZE];
            assertThat(Math.abs(scales[b] - plain.absmax()[b])).as("scale %d", b).isLessThanOrEqualTo(0.01f * range);
        }
        assertThat(compressed.packed()).isSameAs(plain.packed());
        Nf4DoubleQuant large = Nf4DoubleQuant.quantize(new float[4096 * 4096], 64);
        assertThat(large.bytesPerElement()).isLessThan(0.53).isCloseTo(0.5 + 1.0 / 64 + 4.0 / (64 * 256), offset(1e-6));
    }

    @ParameterizedTest(name = "{0} {1}x{2}x{3} accumulate={4}")
    @CsvSource({"ABT, 37, 150, 96, false", "ABT, 5, 130, 200, true", "AB, 37, 96, 150, false", "AB, 8, 200, 130, true"})
    @DisplayName("the fused NF4 matmul from double-quantized scales equals the reference kernel and the float-scale product")
    void fusedMatmulDoubleQuant(MatmulLayout layout, int m, int n, int k, boolean accumulate) {
        Random random = new Random(m + 17L * n + 1013L * k);
        float[] a = gaussian(random, m * k, 1f);
        Nf4DoubleQuant w = Nf4DoubleQuant.quantize(gaussian(random, n * k, 0.05f), Nf4.DEFAULT_BLOCK_SIZE);
        float[] start = gaussian(random, m * n, 1f);

        float[] fused = start.clone();
        float[] viaScales = start.clone();
        float[] reference = start.clone();
        w.matmul(cpu, layout, fused, a, m, n, k, accumulate);
        cpu.nf4Matmul(layout, viaScales, a, w.packed(), w.scales(), w.blockSize(), m, n, k, accumulate);
        if (layout == MatmulLayout.ABT) {
            Nf4Kernels.matmulAbtDoubleQuant(reference, a, w.packed(), w.absmax(), w.nestedAbsmax(), Nf4.code(),
                    Nf4DoubleQuant.dynamicMap(), w.offset(), w.blockSize(), n, k, accumulate ? 1 : 0, 0, m);
        } else {
            Nf4Kernels.matmulAbDoubleQuant(reference, a, w.packed(), w.absmax(), w.nestedAbsmax(), Nf4.code(),
                    Nf4DoubleQuant.dynamicMap(), w.offset(), w.blockSize(), n, k, accumulate ? 1 : 0, 0, m);
        }

        assertThat(fused).containsExactly(viaScales);
        float tolerance = 1e-5f * k;
        for (int i = 0; i < fused.length; i++) {
            assertThat(fused[i]).as("element %d vs reference", i).isCloseTo(reference[i], offset(tolerance));
        }
        assertThatThrownBy(() -> cpu.nf4Matmul(MatmulLayout.ATB, fused, a, w.packed(), w.absmax(), w.nestedAbsmax(),
                w.offset(), w.blockSize(), m, n, k, false)).hasMessageContaining("frozen");
    }

    @Test
    @DisplayName("an NF4 weight gradient (layout ATB) is refused: NF4 weights are frozen")
    void refusesWeightGradient() {
        Nf4 w = Nf4.quantize(new float[64], 64);
        assertThatThrownBy(() -> cpu.nf4Matmul(MatmulLayout.ATB, new float[64], new float[64], w.packed(), w.absmax(),
                64, 8, 8, 1, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("frozen");
    }

    private static float[] floats(JsonNode array) {
        float[] values = new float[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.get(i).asDouble();
        }
        return values;
    }

    private static byte[] bytes(JsonNode array) {
        byte[] values = new byte[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (byte) array.get(i).asInt();
        }
        return values;
    }

    private static float[] gaussian(Random random, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian() * scale;
        }
        return x;
    }
}
