package io.gradus.api.kernel;

import java.util.Arrays;

/**
 * NF4 with double quantization (QLoRA §3; bitsandbytes' {@code quantize_4bit(...,
 * compress_statistics=True)}): the 4-bit codes of {@link Nf4}, and its float block scales
 * quantized again. The mean of the scales is taken out ({@code offset}, bitsandbytes'
 * {@code nested_offset}); the differences are quantized blockwise, {@value #NESTED_BLOCK_SIZE} at a
 * time, to 8-bit indices into bitsandbytes' signed dynamic map ({@link #dynamicMap()}), each block
 * of 256 keeping its own float absmax ({@code nestedAbsmax}). The scale of block b is then
 * <pre>
 *   scale(b) = map[absmax[b]] · nestedAbsmax[b / 256] + offset     (each operation rounded to float)
 * </pre>
 * and element i is {@code Nf4.code()[q(i)] · scale(i / blockSize)}: 0.5 + 1/64 + 1/4096 bytes per
 * element for blocks of 64, against 0.5625 with float scales.
 *
 * @param packed (n + 1) / 2 bytes of 4-bit codes, as in {@link Nf4}
 * @param absmax one 8-bit index into the dynamic map per block of {@code blockSize} elements
 * @param nestedAbsmax one float per {@value #NESTED_BLOCK_SIZE} scales
 * @param offset the mean of the float scales, added back after decoding
 * @param n number of elements
 * @param blockSize elements per scale
 */
public record Nf4DoubleQuant(byte[] packed, byte[] absmax, float[] nestedAbsmax, float offset, int n, int blockSize)
        implements Nf4Tensor {

    /** Scales per nested block: bitsandbytes quantizes the statistics in blocks of 256, always. */
    public static final int NESTED_BLOCK_SIZE = 256;

    /**
     * bitsandbytes' signed dynamic 8-bit map ({@code create_dynamic_map(signed=True)}, Dettmers 2016,
     * arXiv 1511.04561), sorted: for each decade 10⁻⁶ … 10⁰, the midpoints of
     * {@code linspace(0.1, 1, 2^i + 1)} with both signs, then 0 and 1. Its smallest value is
     * −0.99296875, not −1. To the float, as the reference script computes it.
     */
    private static final float[] DYNAMIC_MAP = {
        -0.99296874f, -0.9789062f, -0.96484375f, -0.9507812f, -0.9367187f, -0.92265624f,
        -0.9085938f, -0.89453125f, -0.8804687f, -0.8664062f, -0.85234374f, -0.8382812f,
        -0.82421875f, -0.8101562f, -0.7960937f, -0.78203124f, -0.7679688f, -0.75390625f,
        -0.7398438f, -0.72578126f, -0.7117188f, -0.6976563f, -0.68359375f, -0.6695313f,
        -0.65546876f, -0.64140624f, -0.6273438f, -0.61328125f, -0.5992187f, -0.58515626f,
        -0.5710938f, -0.5570313f, -0.54296875f, -0.5289062f, -0.51484376f, -0.50078124f,
        -0.48671877f, -0.47265625f, -0.45859373f, -0.44453126f, -0.43046874f, -0.4164062f,
        -0.40234375f, -0.38828123f, -0.37421876f, -0.36015624f, -0.3460937f, -0.33203125f,
        -0.31796873f, -0.30390626f, -0.28984374f, -0.27578127f, -0.26171875f, -0.24765626f,
        -0.23359376f, -0.21953125f, -0.20546874f, -0.19140625f, -0.17734374f, -0.16328125f,
        -0.14921875f, -0.13515624f, -0.12109375f, -0.107031256f, -0.09859375f, -0.095781244f,
        -0.092968754f, -0.09015625f, -0.08734375f, -0.08453125f, -0.08171874f, -0.07890625f,
        -0.07609375f, -0.07328125f, -0.070468746f, -0.067656256f, -0.06484375f, -0.062031247f,
        -0.059218753f, -0.05640625f, -0.05359375f, -0.05078125f, -0.04796875f, -0.04515625f,
        -0.042343747f, -0.03953125f, -0.036718752f, -0.033906247f, -0.03109375f, -0.028281247f,
        -0.02546875f, -0.02265625f, -0.01984375f, -0.01703125f, -0.01421875f, -0.01140625f,
        -0.00971875f, -0.009156249f, -0.00859375f, -0.00803125f, -0.00746875f, -0.00690625f,
        -0.00634375f, -0.00578125f, -0.0052187503f, -0.0046562497f, -0.00409375f, -0.0035312497f,
        -0.00296875f, -0.00240625f, -0.00184375f, -0.0012812499f, -0.0009437501f, -0.00083125f,
        -0.00071875006f, -0.0006062501f, -0.00049375003f, -0.00038125002f, -0.00026875004f, -0.00015625001f,
        -8.875e-05f, -6.625e-05f, -4.375e-05f, -2.1249998e-05f, -7.75e-06f, -3.2500002e-06f,
        -5.5000004e-07f, 0.0f, 5.5000004e-07f, 3.2500002e-06f, 7.75e-06f, 2.1249998e-05f,
        4.375e-05f, 6.625e-05f, 8.875e-05f, 0.00015625001f, 0.00026875004f, 0.00038125002f,
        0.00049375003f, 0.0006062501f, 0.00071875006f, 0.00083125f, 0.0009437501f, 0.0012812499f,
        0.00184375f, 0.00240625f, 0.00296875f, 0.0035312497f, 0.00409375f, 0.0046562497f,
        0.0052187503f, 0.00578125f, 0.00634375f, 0.00690625f, 0.00746875f, 0.00803125f,
        0.00859375f, 0.009156249f, 0.00971875f, 0.01140625f, 0.01421875f, 0.01703125f,
        0.01984375f, 0.02265625f, 0.02546875f, 0.028281247f, 0.03109375f, 0.033906247f,
        0.036718752f, 0.03953125f, 0.042343747f, 0.04515625f, 0.04796875f, 0.05078125f,
        0.05359375f, 0.05640625f, 0.059218753f, 0.062031247f, 0.06484375f, 0.067656256f,
        0.070468746f, 0.07328125f, 0.07609375f, 0.07890625f, 0.08171874f, 0.08453125f,
        0.08734375f, 0.09015625f, 0.092968754f, 0.095781244f, 0.09859375f, 0.107031256f,
        0.12109375f, 0.13515624f, 0.14921875f, 0.16328125f, 0.17734374f, 0.19140625f,
        0.20546874f, 0.21953125f, 0.23359376f, 0.24765626f, 0.26171875f, 0.27578127f,
        0.28984374f, 0.30390626f, 0.31796873f, 0.33203125f, 0.3460937f, 0.36015624f,
        0.37421876f, 0.38828123f, 0.40234375f, 0.4164062f, 0.43046874f, 0.44453126f,
        0.45859373f, 0.47265625f, 0.48671877f, 0.50078124f, 0.51484376f, 0.5289062f,
        0.54296875f, 0.5570313f, 0.5710938f, 0.58515626f, 0.5992187f, 0.61328125f,
        0.6273438f, 0.64140624f, 0.65546876f, 0.6695313f, 0.68359375f, 0.6976563f,
        0.7117188f, 0.72578126f, 0.7398438f, 0.75390625f, 0.7679688f, 0.78203124f,
        0.7960937f, 0.8101562f, 0.82421875f, 0.8382812f, 0.85234374f, 0.8664062f,
        0.8804687f, 0.89453125f, 0.9085938f, 0.92265624f, 0.9367187f, 0.9507812f,
        0.96484375f, 0.9789062f, 0.99296874f, 1.0f,
    };

    /** Midpoints between neighbouring map values, (a + b) / 2 in float: the decision boundaries. */
    private static final float[] MIDPOINTS = new float[DYNAMIC_MAP.length - 1];

    static {
        for (int i = 0; i < MIDPOINTS.length; i++) {
            MIDPOINTS[i] = (DYNAMIC_MAP[i] + DYNAMIC_MAP[i + 1]) / 2f;
        }
    }

    public Nf4DoubleQuant {
        if (blockSize <= 0 || n < 0) {
            throw new IllegalArgumentException("NF4: block size must be positive and n non-negative, got "
                    + blockSize + " and " + n);
        }
        int blocks = Nf4.blocks(n, blockSize);
        int nested = Nf4.blocks(blocks, NESTED_BLOCK_SIZE);
        if (packed.length != (n + 1) / 2 || absmax.length != blocks || nestedAbsmax.length != nested) {
            throw new IllegalArgumentException("NF4 with double quantization: " + n + " elements in blocks of "
                    + blockSize + " need " + (n + 1) / 2 + " bytes, " + blocks + " 8-bit scales and " + nested
                    + " nested scales, got " + packed.length + ", " + absmax.length + " and " + nestedAbsmax.length);
        }
    }

    /** A copy of the 256 values of the dynamic map, in index order (the kernels take them as an argument). */
    public static float[] dynamicMap() {
        return DYNAMIC_MAP.clone();
    }

    /** Quantizes {@code x} to NF4 (see {@link Nf4#quantize}) and then its scales to 8 bits. */
    public static Nf4DoubleQuant quantize(float[] x, int blockSize) {
        return compress(Nf4.quantize(x, blockSize));
    }

    /**
     * Quantizes the float scales of {@code nf4}, as bitsandbytes' {@code quantize_4bit} does with
     * {@code compress_statistics}: offset = mean(absmax), then {@code quantize_blockwise(absmax −
     * offset, blocksize=256)} against the dynamic map: per block, m = max |v|; each v scaled by
     * 1/m (1/max(m, 1e-38)), clamped to [−1, 1] and mapped to the nearest value of the map, a value
     * on a midpoint taking the lower index. The offset is the correctly rounded mean (summed in
     * double): torch's float32 mean differs between devices, so bitsandbytes has no single bit
     * pattern for it.
     */
    public static Nf4DoubleQuant compress(Nf4 nf4) {
        float[] absmax = nf4.absmax();
        double sum = 0;
        for (float a : absmax) {
            sum += a;
        }
        float offset = absmax.length == 0 ? 0f : (float) (sum / absmax.length);
        byte[] codes = new byte[absmax.length];
        float[] nested = new float[Nf4.blocks(absmax.length, NESTED_BLOCK_SIZE)];
        for (int blk = 0; blk < nested.length; blk++) {
            int from = blk * NESTED_BLOCK_SIZE;
            int to = Math.min(absmax.length, from + NESTED_BLOCK_SIZE);
            float max = 0f;
            for (int i = from; i < to; i++) {
                max = Math.max(max, Math.abs(absmax[i] - offset));
            }
            nested[blk] = max;
            float inverse = 1f / Math.max(max, 1e-38f);
            for (int i = from; i < to; i++) {
                codes[i] = (byte) nearest(Math.max(-1f, Math.min(1f, (absmax[i] - offset) * inverse)));
            }
        }
        return new Nf4DoubleQuant(nf4.packed(), codes, nested, offset, nf4.n(), nf4.blockSize());
    }

    /** The index of the map value nearest to v: the number of midpoints below v (ties go down). */
    private static int nearest(float v) {
        int lo = 0;
        int hi = MIDPOINTS.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (MIDPOINTS[mid] < v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** The float scales, decoded: {@code map[absmax[b]] · nestedAbsmax[b / 256] + offset}, a new array. */
    @Override
    public float[] scales() {
        float[] scales = new float[absmax.length];
        for (int b = 0; b < scales.length; b++) {
            scales[b] = DYNAMIC_MAP[absmax[b] & 0xFF] * nestedAbsmax[b / NESTED_BLOCK_SIZE] + offset;
        }
        return scales;
    }

    /** Resident bytes per element: 4-bit codes, one byte per block, the nested floats and the offset. */
    @Override
    public double bytesPerElement() {
        return n == 0 ? 0 : (packed.length + absmax.length + 4.0 * nestedAbsmax.length + 4) / n;
    }

    @Override
    public void dequantize(KernelBackend kernels, float[] out) {
        kernels.nf4Dequantize(out, packed, absmax, nestedAbsmax, offset, n, blockSize);
    }

    @Override
    public void matmul(KernelBackend kernels, MatmulLayout layout, float[] c, float[] a, int m, int n, int k,
            boolean accumulate) {
        kernels.nf4Matmul(layout, c, a, packed, absmax, nestedAbsmax, offset, blockSize, m, n, k, accumulate);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Nf4DoubleQuant that && n == that.n && blockSize == that.blockSize
                && Float.compare(offset, that.offset) == 0 && Arrays.equals(packed, that.packed)
                && Arrays.equals(absmax, that.absmax) && Arrays.equals(nestedAbsmax, that.nestedAbsmax);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(packed) + Arrays.hashCode(absmax)) + n;
    }

    @Override
    public String toString() {
        return "Nf4DoubleQuant[n=" + n + ", blockSize=" + blockSize + "]";
    }
}
