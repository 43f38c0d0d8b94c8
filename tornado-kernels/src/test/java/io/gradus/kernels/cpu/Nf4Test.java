package io.gradus.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.kernel.MatmulLayout;
import io.gradus.api.kernel.Nf4;
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
        int n = golden.get("n").asInt();
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) golden.get("x").get(i).asDouble();
        }
        Nf4 q = Nf4.quantize(x, golden.get("blockSize").asInt());

        byte[] expectedPacked = new byte[golden.get("packed").size()];
        for (int i = 0; i < expectedPacked.length; i++) {
            expectedPacked[i] = (byte) golden.get("packed").get(i).asInt();
        }
        float[] expectedAbsmax = new float[golden.get("absmax").size()];
        for (int i = 0; i < expectedAbsmax.length; i++) {
            expectedAbsmax[i] = (float) golden.get("absmax").get(i).asDouble();
        }
        assertThat(q.packed()).containsExactly(expectedPacked);
        assertThat(q.absmax()).containsExactly(expectedAbsmax);
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
            every.add("NF4 " + layout + ": overwrite");
        }
        assertThat(every).as("every path").hasSize(2 * 10);
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
    @DisplayName("an NF4 weight gradient (layout ATB) is refused: NF4 weights are frozen")
    void refusesWeightGradient() {
        Nf4 w = Nf4.quantize(new float[64], 64);
        assertThatThrownBy(() -> cpu.nf4Matmul(MatmulLayout.ATB, new float[64], new float[64], w.packed(), w.absmax(),
                64, 8, 8, 1, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("frozen");
    }

    private static float[] gaussian(Random random, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian() * scale;
        }
        return x;
    }
}
