package io.gradus.kernels.cpu;

import io.gradus.kernels.reference.Nf4Kernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products with the Vector API, register-blocked. Each method computes rows [from, to) of
 * C, so the backend can split rows over threads; results equal the reference kernels up to the
 * order of float additions.
 *
 * <p>The main kernel ({@link #multiplyPacked}) follows the classic BLAS design: op(B) is packed
 * into panels of two vectors' width and blocks of {@value #KC} rows, so the micro-kernel streams it
 * from L1; op(A) is copied into slivers of six rows, one shared index after another, so its
 * broadcasts stream too (in products of {@value #SLIVER_COLUMNS} columns or more); and a tile of
 * 6 rows × 2 vectors of C stays in 12 registers while each packed row of B meets six broadcast
 * elements of A. Narrower products read A in place, with 512-bit vectors two panels at a time
 * (6 × 4 vectors in 24 registers) so that each broadcast, which costs most there, feeds four
 * multiply-adds. Strides let the same code read A or B transposed, which covers all three layouts. Outputs narrower than two vectors run along vectors
 * of eight ranks instead ({@link #narrowColumns}); Aᵀ·B with a narrow side (output columns or rows)
 * runs unpacked, with the vectors along the wide side and eight narrow columns per pass
 * ({@link #atbNarrow}).
 */
final class VectorMatmul {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorMatmul() {}

    /** Whether rows of {@code n} outputs are too short for the row-vector kernels (under two vectors). */
    static boolean narrow(int n) {
        return n < 2 * L;
    }

    /**
     * Lanes of a vector of narrow outputs ({@link #narrowColumns}): eight (256 bits) where the
     * preferred vectors hold eight floats or more, so a LoRA rank of 8 fills one vector even with
     * AVX-512; the preferred width below that.
     */
    private static final VectorSpecies<Float> R = L >= 8 ? FloatVector.SPECIES_256 : S;
    static final int RANK_LANES = R.length();

    /** Rows of C per {@link #narrowColumns} tile: eight accumulators, a loaded vector and a broadcast fit AVX2's registers. */
    static final int NARROW_ROWS = 8;

    /**
     * op(B) [k, n] for the narrow kernels, in blocks of {@code block} columns (the last one padded
     * with zeros), each block's k rows one after another: element (p, j) goes to
     * {@code u[(j / block)·k·block + p·block + j % block]}; element (p, j) of op(B) is
     * {@code b[p·n + j]} (B [k, n]), or {@code b[j·k + p]} with {@code transposed} (B [n, k]). B itself
     * when it already has that form (one whole block). The kernels read a block's row p at
     * {@code start + p·block}: a constant times p, so C2 moves the bounds checks out of their loops
     * (with rows a padded n apart it could not).
     */
    static float[] padRanks(float[] b, boolean transposed, int n, int k, int block) {
        if (n == block && !transposed) {
            return b;
        }
        int padded = (n + block - 1) / block * block;
        float[] u = new float[k * padded];
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) {
                u[j / block * k * block + p * block + j % block] = transposed ? b[j * k + p] : b[p * n + j];
            }
        }
        return u;
    }

    /**
     * Rows [from, to) of C[m, n] (+)= A[m, k] · U for a narrow C (n a LoRA rank, say) and U = op(B)
     * {@linkplain #padRanks in blocks} of {@link #RANK_LANES} columns: the vectors run along
     * the ranks, so a row of U is one load and each element of A one broadcast, and no horizontal
     * sums are needed (dot products along k would need one per output). Tiles of
     * {@value #NARROW_ROWS} rows × one vector, then single rows; each sum starts from C (or zero)
     * and runs over p in order with fused multiply-adds.
     */
    static void narrowColumns(float[] c, float[] a, float[] u, int n, int k, boolean accumulate, int from, int to) {
        float[] lanes = new float[RANK_LANES];
        for (int j = 0; j < n; j += RANK_LANES) {
            int width = Math.min(RANK_LANES, n - j);
            int ub = j * k; // the block of ranks [j, j + RANK_LANES) in U
            int i = from;
            for (; i + NARROW_ROWS <= to; i += NARROW_ROWS) {
                narrowTile(c, a, u, ub, n, k, i, j, width, accumulate, lanes);
            }
            for (; i < to; i++) {
                FloatVector r0 = startRanks(c, i * n + j, width, accumulate, lanes);
                int a0 = i * k;
                for (int p = 0; p < k; p++) {
                    r0 = FloatVector.broadcast(R, a[a0 + p]).fma(FloatVector.fromArray(R, u, ub + p * RANK_LANES), r0);
                }
                finishRanks(r0, c, i * n + j, width, lanes);
            }
        }
    }

    /** Rows [i, i + 8) of C at ranks [j, j + width): eight accumulators over all of k. */
    private static void narrowTile(float[] c, float[] a, float[] u, int ub, int n, int k, int i, int j, int width,
            boolean accumulate, float[] lanes) {
        int c0 = i * n + j;
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k, a6 = a5 + k, a7 = a6 + k;
        FloatVector r0 = startRanks(c, c0, width, accumulate, lanes);
        FloatVector r1 = startRanks(c, c0 + n, width, accumulate, lanes);
        FloatVector r2 = startRanks(c, c0 + 2 * n, width, accumulate, lanes);
        FloatVector r3 = startRanks(c, c0 + 3 * n, width, accumulate, lanes);
        FloatVector r4 = startRanks(c, c0 + 4 * n, width, accumulate, lanes);
        FloatVector r5 = startRanks(c, c0 + 5 * n, width, accumulate, lanes);
        FloatVector r6 = startRanks(c, c0 + 6 * n, width, accumulate, lanes);
        FloatVector r7 = startRanks(c, c0 + 7 * n, width, accumulate, lanes);
        for (int p = 0; p < k; p++) {
            FloatVector y = FloatVector.fromArray(R, u, ub + p * RANK_LANES);
            r0 = FloatVector.broadcast(R, a[a0 + p]).fma(y, r0);
            r1 = FloatVector.broadcast(R, a[a1 + p]).fma(y, r1);
            r2 = FloatVector.broadcast(R, a[a2 + p]).fma(y, r2);
            r3 = FloatVector.broadcast(R, a[a3 + p]).fma(y, r3);
            r4 = FloatVector.broadcast(R, a[a4 + p]).fma(y, r4);
            r5 = FloatVector.broadcast(R, a[a5 + p]).fma(y, r5);
            r6 = FloatVector.broadcast(R, a[a6 + p]).fma(y, r6);
            r7 = FloatVector.broadcast(R, a[a7 + p]).fma(y, r7);
        }
        finishRanks(r0, c, c0, width, lanes);
        finishRanks(r1, c, c0 + n, width, lanes);
        finishRanks(r2, c, c0 + 2 * n, width, lanes);
        finishRanks(r3, c, c0 + 3 * n, width, lanes);
        finishRanks(r4, c, c0 + 4 * n, width, lanes);
        finishRanks(r5, c, c0 + 5 * n, width, lanes);
        finishRanks(r6, c, c0 + 6 * n, width, lanes);
        finishRanks(r7, c, c0 + 7 * n, width, lanes);
    }

    /**
     * Ranks (narrow columns) of {@link #atbNarrow} per pass over the wide operand: eight
     * accumulators, the loaded vector and a broadcast are ten vector registers, which AVX2's sixteen
     * hold as well as AVX-512's 32.
     */
    static final int RANK_BLOCK = 8;

    /**
     * Columns [from, to) of Cᵀ[n, m] (+)= Bᵀ·A for A [k, m] and a narrow B [k, n] given
     * {@linkplain #padRanks in blocks} of {@link #RANK_BLOCK} columns: the Aᵀ·B products with one
     * narrow side, with the vectors along m and A read in place. With C [m, n] narrow (the gradient
     * of a LoRA B, n = rank) Cᵀ is a scratch array; with the roles swapped (A and B exchanged, m
     * and n too) it computes a C [n, m] whose n rows are narrow (the gradient of a LoRA A) straight into C. {@code from} is a multiple of the
     * vector length. Tiles of {@link #RANK_BLOCK} rows of Cᵀ × one vector: each vector of A is
     * loaded once per block of eight ranks, so at rank 8 A is read exactly once. The strips sweep
     * one block of {@link #KC} rows of A at a time, which stays in L2 while they do (a LoRA input of
     * 1024 × 344 floats does not: sweeping all of k per strip ran 5–8× slower); each sum runs over p
     * in order with fused multiply-adds, resumed from C between blocks, whatever the blocking and
     * the threads. A last strip narrower than a vector is copied into a zero-padded scratch first:
     * no masked access (and none past the end of A) in the loop.
     */
    static void atbNarrow(float[] ct, float[] a, float[] blocksOfB, int m, int n, int k, boolean accumulate, int from,
            int to) {
        float[] lanes = new float[L];
        int whole = to - (to - from) % L;
        float[] tail = null;
        if (whole < to) {
            tail = new float[k * L];
            for (int p = 0; p < k; p++) {
                System.arraycopy(a, p * m + whole, tail, p * L, to - whole);
            }
        }
        for (int block = 0; block < k; block += KC) {
            int kc = Math.min(KC, k - block);
            boolean load = accumulate || block > 0;
            for (int i = from; i < to; i += L) {
                int width = Math.min(L, to - i);
                for (int j = 0; j < n; j += RANK_BLOCK) {
                    if (width == L) {
                        rankTile(ct, m, a, m, block * m + i, blocksOfB, k, n, block, kc, i, j, width, load, lanes);
                    } else {
                        rankTile(ct, m, tail, L, block * L, blocksOfB, k, n, block, kc, i, j, width, load, lanes);
                    }
                }
            }
        }
    }

    /**
     * Rows [j, j + 8) of Cᵀ (those below n) at columns [i, i + width): eight accumulators in
     * registers over rows [block, block + kc) of the strip of A at {@code offset} (rows {@code lda}
     * apart) and of the block of ranks [j, j + 8) of U ({@link #padRanks}'s layout: k rows of eight).
     */
    private static void rankTile(float[] ct, int m, float[] a, int lda, int offset, float[] u, int k, int n,
            int block, int kc, int i, int j, int width, boolean accumulate, float[] lanes) {
        int c0 = j * m + i;
        FloatVector r0 = start(ct, c0, widthOfRank(j, n, width), accumulate, lanes);
        FloatVector r1 = start(ct, c0 + m, widthOfRank(j + 1, n, width), accumulate, lanes);
        FloatVector r2 = start(ct, c0 + 2 * m, widthOfRank(j + 2, n, width), accumulate, lanes);
        FloatVector r3 = start(ct, c0 + 3 * m, widthOfRank(j + 3, n, width), accumulate, lanes);
        FloatVector r4 = start(ct, c0 + 4 * m, widthOfRank(j + 4, n, width), accumulate, lanes);
        FloatVector r5 = start(ct, c0 + 5 * m, widthOfRank(j + 5, n, width), accumulate, lanes);
        FloatVector r6 = start(ct, c0 + 6 * m, widthOfRank(j + 6, n, width), accumulate, lanes);
        FloatVector r7 = start(ct, c0 + 7 * m, widthOfRank(j + 7, n, width), accumulate, lanes);
        int q = offset;
        int ub = j * k + block * RANK_BLOCK; // row `block` of the rank block [j, j + 8) in U
        for (int p = 0; p < kc; p++, q += lda) {
            int up = ub + p * RANK_BLOCK;
            FloatVector x = FloatVector.fromArray(S, a, q);
            r0 = FloatVector.broadcast(S, u[up]).fma(x, r0);
            r1 = FloatVector.broadcast(S, u[up + 1]).fma(x, r1);
            r2 = FloatVector.broadcast(S, u[up + 2]).fma(x, r2);
            r3 = FloatVector.broadcast(S, u[up + 3]).fma(x, r3);
            r4 = FloatVector.broadcast(S, u[up + 4]).fma(x, r4);
            r5 = FloatVector.broadcast(S, u[up + 5]).fma(x, r5);
            r6 = FloatVector.broadcast(S, u[up + 6]).fma(x, r6);
            r7 = FloatVector.broadcast(S, u[up + 7]).fma(x, r7);
        }
        finish(r0, ct, c0, widthOfRank(j, n, width), lanes);
        finish(r1, ct, c0 + m, widthOfRank(j + 1, n, width), lanes);
        finish(r2, ct, c0 + 2 * m, widthOfRank(j + 2, n, width), lanes);
        finish(r3, ct, c0 + 3 * m, widthOfRank(j + 3, n, width), lanes);
        finish(r4, ct, c0 + 4 * m, widthOfRank(j + 4, n, width), lanes);
        finish(r5, ct, c0 + 5 * m, widthOfRank(j + 5, n, width), lanes);
        finish(r6, ct, c0 + 6 * m, widthOfRank(j + 6, n, width), lanes);
        finish(r7, ct, c0 + 7 * m, widthOfRank(j + 7, n, width), lanes);
    }

    /*
     * The accumulators' loads and stores, one pair per species: the Vector API compiles an
     * operation to vector instructions only where its species is a constant, and a species passed
     * as an argument made atbNarrow run 10–40 times slower (0.3–0.9 GFLOP/s).
     */

    /** An accumulator of {@link #atbNarrow}: zero, or (with {@code load}) the {@code width} values of C at {@code index}. */
    private static FloatVector start(float[] c, int index, int width, boolean load, float[] lanes) {
        if (!load || width == 0) {
            return FloatVector.zero(S);
        }
        return width == L ? FloatVector.fromArray(S, c, index) : FloatVector.fromArray(S, partial(c, index, width, lanes), 0);
    }

    /** An accumulator of {@link #narrowColumns}, as {@link #start}. */
    private static FloatVector startRanks(float[] c, int index, int width, boolean load, float[] lanes) {
        if (!load) {
            return FloatVector.zero(R);
        }
        return width == RANK_LANES ? FloatVector.fromArray(R, c, index)
                : FloatVector.fromArray(R, partial(c, index, width, lanes), 0);
    }

    /** {@code lanes} holding the {@code width} values of C at {@code index}, then zeros. */
    private static float[] partial(float[] c, int index, int width, float[] lanes) {
        java.util.Arrays.fill(lanes, 0f);
        System.arraycopy(c, index, lanes, 0, width);
        return lanes;
    }

    /** Stores the first {@code width} lanes of an {@link #atbNarrow} accumulator at {@code index} of C. */
    private static void finish(FloatVector sum, float[] c, int index, int width, float[] lanes) {
        if (width == L) {
            sum.intoArray(c, index);
        } else if (width > 0) {
            sum.intoArray(lanes, 0);
            System.arraycopy(lanes, 0, c, index, width);
        }
    }

    /** Stores the first {@code width} lanes of a {@link #narrowColumns} accumulator at {@code index} of C. */
    private static void finishRanks(FloatVector sum, float[] c, int index, int width, float[] lanes) {
        if (width == RANK_LANES) {
            sum.intoArray(c, index);
        } else {
            sum.intoArray(lanes, 0);
            System.arraycopy(lanes, 0, c, index, width);
        }
    }

    /** The width of row {@code row} of a rank tile: all of {@code width}, or none for a padded rank past n. */
    private static int widthOfRank(int row, int n, int width) {
        return row < n ? width : 0;
    }

    /** Rows of B per block of the shared dimension: a packed panel of KC × 2L floats (32 KiB with AVX-512) stays in L1. */
    static final int KC = 256;

    /** Rows of C per micro-kernel call: 6 × 2 accumulator vectors, the widest tile C2 keeps in registers. */
    static final int MR = 6;

    /** Width of a packed panel of B: two vectors. */
    static final int NR = 2 * L;

    /**
     * Columns of op(B) from which op(A) is copied into slivers ({@link #packSliver}): eight panels.
     * A row of A meets every panel, so the copy pays where there are many; with fewer, the tile
     * reads A in place ({@link #tile6PairInPlace}, {@link #tile6InPlace}). On SMALL's products
     * (n = 64 to 512 with AVX-512) the slivers everywhere made a training step about 10% slower than
     * reading A in place, while 1024³ ran 25% faster with them (docs/DESIGN.md, "The micro-kernel's compiled loop, read").
     */
    static final int SLIVER_COLUMNS = 8 * NR;

    /**
     * Whether products that read op(A) in place take two panels per tile ({@link #tile6PairInPlace}):
     * only with 512-bit vectors, whose 32 registers hold its 24 accumulators. With 256-bit vectors
     * (AVX2: 16 registers, {@code -XX:UseAVX=2} here) the wide tile gained nothing at 1024 × 128 × 128
     * and lost 20% at 1024 × 64 × 128, one thread, alternating in one JVM.
     */
    static final boolean PANEL_PAIRS = L >= 16;

    /** Width of op(B) once packed: n rounded up to whole panels (the last one padded with zeros). */
    static int packedColumns(int n) {
        return (n + NR - 1) / NR * NR;
    }

    /**
     * Where the packed panel holding column {@code j} starts within the block of the shared dimension
     * that begins at row {@code block} and holds {@code depth} rows ({@link #pack}'s layout).
     */
    private static int panelStart(int block, int columns, int j, int depth) {
        return block * columns + (j / NR) * depth * NR;
    }

    /**
     * Packs rows [pFrom, pTo) of op(B) [k, n] for {@link #multiplyPacked}, where element (p, j) of
     * op(B) is {@code b[bBase + p·bStrideP + j·bStrideJ]}: strides (n, 1) for B [k, n], (1, k) for
     * B [n, k] read transposed; a base and other strides pick a block out of a larger tensor (one
     * head's keys, say). Layout: blocks of {@link #KC} rows of the shared dimension, in each block
     * panels of {@link #NR} columns (the last one padded with zeros), in each panel the block's rows
     * one after another, so the micro-kernel reads B strictly in sequence.
     *
     * @param packed k · {@link #packedColumns}(n) floats
     */
    static void pack(float[] packed, float[] b, int bBase, int bStrideP, int bStrideJ, int n, int k, int pFrom,
            int pTo) {
        int columns = packedColumns(n);
        if (bStrideJ == 1) { // rows of B [k, n]: each panel row is a contiguous run of NR floats
            for (int p = pFrom; p < pTo; p++) {
                int block = p - p % KC;
                int panelStride = Math.min(KC, k - block) * NR;
                int target = block * columns + (p - block) * NR;
                for (int j = 0; j < columns; j += NR, target += panelStride) {
                    int width = Math.min(NR, n - j);
                    System.arraycopy(b, bBase + p * bStrideP + j, packed, target, width);
                    java.util.Arrays.fill(packed, target + width, target + NR, 0f);
                }
            }
            return;
        }
        // B [n, k] read transposed: per panel, walk its NR rows of B side by side along p.
        for (int j = 0; j < columns; j += NR) {
            int width = Math.min(NR, n - j);
            boolean squares = TRANSPOSE && bStrideP == 1 && width == NR;
            for (int p = pFrom; p < pTo;) {
                int block = p - p % KC;
                int target = panelStart(block, columns, j, Math.min(KC, k - block)) + (p - block) * NR;
                int source = bBase + p * bStrideP + j * bStrideJ;
                if (squares && p + SQUARE <= pTo && p - block + SQUARE <= KC) {
                    transpose16(packed, target, b, source, bStrideJ);
                    transpose16(packed, target + SQUARE, b, source + SQUARE * bStrideJ, bStrideJ);
                    p += SQUARE;
                    continue;
                }
                for (int jj = 0; jj < width; jj++) {
                    packed[target + jj] = b[source + jj * bStrideJ];
                }
                java.util.Arrays.fill(packed, target + width, target + NR, 0f);
                p++;
            }
        }
    }

    /**
     * Whether {@link #pack} transposes whole 16 × 16 squares of a B [n, k] read transposed in
     * registers ({@link #transpose16}): with 16-float vectors, whose two-source permute C2 emits as
     * one instruction ({@code vpermi2ps}/{@code vpermt2ps} for {@code selectFrom(v1, v2)}). The
     * scalar copy read B with a stride of k and ran at about 2 cycles a float; the squares packed
     * 1024 × 384 three times as fast (0.17 against 0.57 ms, one thread, the same bits), and A·Bᵀ
     * at SMALL's and MEDIUM's shapes ran 3–6% faster on two threads.
     */
    static final boolean TRANSPOSE = L == 16;

    /**
     * Rows of op(B) per square of {@link #transpose16}. {@link #KC} is a multiple of it, so a range
     * of rows that starts at a multiple of it holds whole squares up to its last partial one.
     */
    static final int SQUARE = 16;

    /**
     * Permutation indices of {@link #transpose16}'s four stages. Stage d (1, 2, 4, 8) pairs rows r and
     * r + d (r without bit d) and swaps bit d of the row with bit d of the lane: row r takes its lanes
     * with bit d clear from itself and the others from row r + d, d lanes lower ({@code SWAP_LOW}, where
     * index 16 + t picks the second row's lane t); row r + d takes the lanes with bit d clear from row
     * r, d lanes higher, and keeps the others ({@code SWAP_HIGH}). After the four stages, element (r, l)
     * stands at (l, r).
     */
    private static final FloatVector SWAP_LOW_1 = swapIndices(1, false), SWAP_HIGH_1 = swapIndices(1, true),
            SWAP_LOW_2 = swapIndices(2, false), SWAP_HIGH_2 = swapIndices(2, true),
            SWAP_LOW_4 = swapIndices(4, false), SWAP_HIGH_4 = swapIndices(4, true),
            SWAP_LOW_8 = swapIndices(8, false), SWAP_HIGH_8 = swapIndices(8, true);

    private static FloatVector swapIndices(int d, boolean high) {
        float[] indices = new float[L];
        for (int l = 0; l < L; l++) {
            boolean clear = (l & d) == 0;
            indices[l] = high ? (clear ? l + d : L + l) : (clear ? l : L + l - d);
        }
        return FloatVector.fromArray(S, indices, 0);
    }

    /**
     * Packs a 16 × 16 square of B [n, k] read transposed: rows source + r·stride (r &lt; 16) of 16
     * contiguous floats each become packed rows target + q·{@link #NR} (q &lt; 16), element (r, q) at
     * lane r of packed row q. Sixteen loads, four stages of 16 two-source permutes
     * ({@code SWAP_LOW_d}, {@code SWAP_HIGH_d}) and sixteen stores, instead of 256 scalar loads and
     * stores with a stride.
     */
    private static void transpose16(float[] packed, int target, float[] b, int source, int stride) {
        FloatVector v0 = FloatVector.fromArray(S, b, source);
        FloatVector v1 = FloatVector.fromArray(S, b, source + stride);
        FloatVector v2 = FloatVector.fromArray(S, b, source + 2 * stride);
        FloatVector v3 = FloatVector.fromArray(S, b, source + 3 * stride);
        FloatVector v4 = FloatVector.fromArray(S, b, source + 4 * stride);
        FloatVector v5 = FloatVector.fromArray(S, b, source + 5 * stride);
        FloatVector v6 = FloatVector.fromArray(S, b, source + 6 * stride);
        FloatVector v7 = FloatVector.fromArray(S, b, source + 7 * stride);
        FloatVector v8 = FloatVector.fromArray(S, b, source + 8 * stride);
        FloatVector v9 = FloatVector.fromArray(S, b, source + 9 * stride);
        FloatVector v10 = FloatVector.fromArray(S, b, source + 10 * stride);
        FloatVector v11 = FloatVector.fromArray(S, b, source + 11 * stride);
        FloatVector v12 = FloatVector.fromArray(S, b, source + 12 * stride);
        FloatVector v13 = FloatVector.fromArray(S, b, source + 13 * stride);
        FloatVector v14 = FloatVector.fromArray(S, b, source + 14 * stride);
        FloatVector v15 = FloatVector.fromArray(S, b, source + 15 * stride);
        FloatVector t;
        t = SWAP_LOW_1.selectFrom(v0, v1);
        v1 = SWAP_HIGH_1.selectFrom(v0, v1);
        v0 = t;
        t = SWAP_LOW_1.selectFrom(v2, v3);
        v3 = SWAP_HIGH_1.selectFrom(v2, v3);
        v2 = t;
        t = SWAP_LOW_1.selectFrom(v4, v5);
        v5 = SWAP_HIGH_1.selectFrom(v4, v5);
        v4 = t;
        t = SWAP_LOW_1.selectFrom(v6, v7);
        v7 = SWAP_HIGH_1.selectFrom(v6, v7);
        v6 = t;
        t = SWAP_LOW_1.selectFrom(v8, v9);
        v9 = SWAP_HIGH_1.selectFrom(v8, v9);
        v8 = t;
        t = SWAP_LOW_1.selectFrom(v10, v11);
        v11 = SWAP_HIGH_1.selectFrom(v10, v11);
        v10 = t;
        t = SWAP_LOW_1.selectFrom(v12, v13);
        v13 = SWAP_HIGH_1.selectFrom(v12, v13);
        v12 = t;
        t = SWAP_LOW_1.selectFrom(v14, v15);
        v15 = SWAP_HIGH_1.selectFrom(v14, v15);
        v14 = t;
        t = SWAP_LOW_2.selectFrom(v0, v2);
        v2 = SWAP_HIGH_2.selectFrom(v0, v2);
        v0 = t;
        t = SWAP_LOW_2.selectFrom(v1, v3);
        v3 = SWAP_HIGH_2.selectFrom(v1, v3);
        v1 = t;
        t = SWAP_LOW_2.selectFrom(v4, v6);
        v6 = SWAP_HIGH_2.selectFrom(v4, v6);
        v4 = t;
        t = SWAP_LOW_2.selectFrom(v5, v7);
        v7 = SWAP_HIGH_2.selectFrom(v5, v7);
        v5 = t;
        t = SWAP_LOW_2.selectFrom(v8, v10);
        v10 = SWAP_HIGH_2.selectFrom(v8, v10);
        v8 = t;
        t = SWAP_LOW_2.selectFrom(v9, v11);
        v11 = SWAP_HIGH_2.selectFrom(v9, v11);
        v9 = t;
        t = SWAP_LOW_2.selectFrom(v12, v14);
        v14 = SWAP_HIGH_2.selectFrom(v12, v14);
        v12 = t;
        t = SWAP_LOW_2.selectFrom(v13, v15);
        v15 = SWAP_HIGH_2.selectFrom(v13, v15);
        v13 = t;
        t = SWAP_LOW_4.selectFrom(v0, v4);
        v4 = SWAP_HIGH_4.selectFrom(v0, v4);
        v0 = t;
        t = SWAP_LOW_4.selectFrom(v1, v5);
        v5 = SWAP_HIGH_4.selectFrom(v1, v5);
        v1 = t;
        t = SWAP_LOW_4.selectFrom(v2, v6);
        v6 = SWAP_HIGH_4.selectFrom(v2, v6);
        v2 = t;
        t = SWAP_LOW_4.selectFrom(v3, v7);
        v7 = SWAP_HIGH_4.selectFrom(v3, v7);
        v3 = t;
        t = SWAP_LOW_4.selectFrom(v8, v12);
        v12 = SWAP_HIGH_4.selectFrom(v8, v12);
        v8 = t;
        t = SWAP_LOW_4.selectFrom(v9, v13);
        v13 = SWAP_HIGH_4.selectFrom(v9, v13);
        v9 = t;
        t = SWAP_LOW_4.selectFrom(v10, v14);
        v14 = SWAP_HIGH_4.selectFrom(v10, v14);
        v10 = t;
        t = SWAP_LOW_4.selectFrom(v11, v15);
        v15 = SWAP_HIGH_4.selectFrom(v11, v15);
        v11 = t;
        t = SWAP_LOW_8.selectFrom(v0, v8);
        v8 = SWAP_HIGH_8.selectFrom(v0, v8);
        v0 = t;
        t = SWAP_LOW_8.selectFrom(v1, v9);
        v9 = SWAP_HIGH_8.selectFrom(v1, v9);
        v1 = t;
        t = SWAP_LOW_8.selectFrom(v2, v10);
        v10 = SWAP_HIGH_8.selectFrom(v2, v10);
        v2 = t;
        t = SWAP_LOW_8.selectFrom(v3, v11);
        v11 = SWAP_HIGH_8.selectFrom(v3, v11);
        v3 = t;
        t = SWAP_LOW_8.selectFrom(v4, v12);
        v12 = SWAP_HIGH_8.selectFrom(v4, v12);
        v4 = t;
        t = SWAP_LOW_8.selectFrom(v5, v13);
        v13 = SWAP_HIGH_8.selectFrom(v5, v13);
        v5 = t;
        t = SWAP_LOW_8.selectFrom(v6, v14);
        v14 = SWAP_HIGH_8.selectFrom(v6, v14);
        v6 = t;
        t = SWAP_LOW_8.selectFrom(v7, v15);
        v15 = SWAP_HIGH_8.selectFrom(v7, v15);
        v7 = t;
        v0.intoArray(packed, target);
        v1.intoArray(packed, target + NR);
        v2.intoArray(packed, target + 2 * NR);
        v3.intoArray(packed, target + 3 * NR);
        v4.intoArray(packed, target + 4 * NR);
        v5.intoArray(packed, target + 5 * NR);
        v6.intoArray(packed, target + 6 * NR);
        v7.intoArray(packed, target + 7 * NR);
        v8.intoArray(packed, target + 8 * NR);
        v9.intoArray(packed, target + 9 * NR);
        v10.intoArray(packed, target + 10 * NR);
        v11.intoArray(packed, target + 11 * NR);
        v12.intoArray(packed, target + 12 * NR);
        v13.intoArray(packed, target + 13 * NR);
        v14.intoArray(packed, target + 14 * NR);
        v15.intoArray(packed, target + 15 * NR);
    }

    /**
     * Rows [from, to) of C[m,n] (+)= op(A) · op(B), with op(B) {@linkplain #pack packed}; element
     * (i, p) of op(A) is {@code a[i·aStrideI + p·aStrideP]}: strides (k, 1) for A [m, k], (1, m) for
     * A [k, m] read transposed. Each output is summed in order of p with fused multiply-adds, the
     * same arithmetic for every blocking and thread count. Over at least {@link #SLIVER_COLUMNS}
     * columns, whole 6-row tiles run in {@link #tile6}, the last panel's too where it is narrower
     * than {@link #NR} ({@link #tile6Columns}); over fewer, whole tiles run in
     * {@link #tile6PairInPlace} on pairs of whole panels where {@link #PANEL_PAIRS}, and in
     * {@link #tile6InPlace} on the other whole panels. The rest runs row by row.
     */
    static void multiplyPacked(float[] c, float[] a, int aStrideI, int aStrideP, float[] packed, int n, int k,
            boolean accumulate, int from, int to) {
        multiplyPacked(c, n, 0, a, aStrideI, aStrideP, packed, n, k, accumulate, from, to);
    }

    /**
     * As above, into columns [cOffset, cOffset + n) of a C with rows of {@code ldc} floats: a
     * product computed one group of columns at a time (see {@link #packNf4}).
     */
    static void multiplyPacked(float[] c, int ldc, int cOffset, float[] a, int aStrideI, int aStrideP, float[] packed,
            int n, int k, boolean accumulate, int from, int to) {
        int columns = packedColumns(n);
        int tiles = (to - from) / MR;
        boolean slivered = columns >= SLIVER_COLUMNS;
        int scratchBase = slivered ? tiles * MR * Math.min(KC, k) : 0; // then a partial panel's tile of C
        float[] slivers = slivered ? new float[scratchBase + MR * NR] : null;
        for (int block = 0; block < k; block += KC) {
            int kc = Math.min(KC, k - block);
            boolean load = accumulate || block > 0;
            if (slivered) {
                packSlivers(slivers, a, aStrideI, aStrideP, from, tiles, block, kc);
            }
            for (int panel = 0, span; panel < columns; panel += span) {
                int panelBase = panelStart(block, columns, panel, kc);
                int width = Math.min(NR, n - panel);
                int i = from;
                span = NR;
                if (slivered) {
                    for (int t = 0; t < tiles; t++, i += MR) {
                        tile6Columns(c, ldc, slivers, t * MR * kc, packed, panelBase, i, cOffset + panel, width, kc,
                                load, scratchBase);
                    }
                } else if (PANEL_PAIRS && panel + 2 * NR <= n) {
                    span = 2 * NR;
                    for (int t = 0; t < tiles; t++, i += MR) {
                        tile6PairInPlace(c, ldc, a, 0, aStrideI, aStrideP, packed, panelBase, kc * NR, i,
                                cOffset + panel, block, kc, load);
                    }
                } else if (width == NR) {
                    for (int t = 0; t < tiles; t++, i += MR) {
                        tile6InPlace(c, ldc, a, 0, aStrideI, aStrideP, packed, panelBase, i, cOffset + panel, block,
                                kc, load);
                    }
                }
                for (int part = panel; part < panel + span && i < to; part += NR) { // rows past the whole tiles
                    VectorMask<Float> m0 = S.indexInRange(part, n);
                    VectorMask<Float> m1 = S.indexInRange(part + L, n);
                    int partBase = panelStart(block, columns, part, kc);
                    for (int r = i; r < to; r++) {
                        row(c, ldc, a, 0, aStrideI, aStrideP, packed, partBase, r, cOffset + part, block, kc, load,
                                m0, m1);
                    }
                }
            }
        }
    }

    /**
     * The {@linkplain #packSliver slivers} of {@code tiles} tiles of op(A) from row {@code from}, at
     * shared indices [p0, p0 + kc), one after another ({@code MR · kc} floats each). Where op(A) is
     * A [k, m] read transposed (its rows lie side by side in memory), each row of A is read once
     * for all tiles: one tile at a time read a new cache line per shared index and six floats of
     * it, and such packing took a fifth of a small model's training step.
     */
    private static void packSlivers(float[] slivers, float[] a, int aStrideI, int aStrideP, int from, int tiles, int p0,
            int kc) {
        if (aStrideP == 1) { // A [m, k]: each tile's rows are contiguous runs along p
            for (int t = 0; t < tiles; t++) {
                packSliver(slivers, t * MR * kc, a, 0, aStrideI, aStrideP, from + t * MR, p0, kc);
            }
            return;
        }
        for (int p = 0; p < kc; p++) {
            int source = (p0 + p) * aStrideP + from * aStrideI;
            for (int t = 0, target = p * MR; t < tiles; t++, target += MR * kc, source += MR * aStrideI) {
                for (int r = 0; r < MR; r++) {
                    slivers[target + r] = a[source + r * aStrideI];
                }
            }
        }
    }

    /**
     * Copies rows [i, i + {@link #MR}) of op(A) at shared indices [p0, p0 + kc) into a sliver, one
     * shared index after another: {@code sliver[base + p·MR + r]} = op(A)(i + r, p0 + p), with
     * op(A)(i, p) = {@code a[aBase + i·aStrideI + p·aStrideP]}. {@link #tile6} then reads its six
     * broadcasts from one sequential stream, at a constant distance per step: one address register
     * instead of six, and bounds checks the compiler hoists out of the loop (they stayed in the loop
     * with op(A) read in place, and the loop ran at two thirds of the speed).
     */
    private static void packSliver(float[] sliver, int base, float[] a, int aBase, int aStrideI, int aStrideP, int i,
            int p0, int kc) {
        int a0 = aBase + i * aStrideI + p0 * aStrideP;
        int a1 = a0 + aStrideI, a2 = a1 + aStrideI, a3 = a2 + aStrideI, a4 = a3 + aStrideI, a5 = a4 + aStrideI;
        for (int p = 0; p < kc; p++) { // six rows side by side: a third faster than one row at a time
            int source = p * aStrideP;
            int target = base + p * MR;
            sliver[target] = a[a0 + source];
            sliver[target + 1] = a[a1 + source];
            sliver[target + 2] = a[a2 + source];
            sliver[target + 3] = a[a3 + source];
            sliver[target + 4] = a[a4 + source];
            sliver[target + 5] = a[a5 + source];
        }
    }

    /**
     * Packs rows [pFrom, pTo) of columns [j0, j0 + n) of an NF4 op(B), expanded to floats, in the
     * {@link #pack} layout: element (p, j) of op(B) is element {@code p·strideP + j·strideJ} of the
     * quantized tensor. Expanding one group of columns at a time into the packed panels is how the
     * NF4 product stays fused: the weight never exists in float form beyond one group.
     */
    static void packNf4(float[] packed, byte[] quantized, float[] absmax, float[] code, int blockSize, int strideP,
            int strideJ, int j0, int n, int k, int pFrom, int pTo) {
        int columns = packedColumns(n);
        if (strideP == 1) { // W [n, k] read transposed: walk each weight row along p, as its bytes lie
            for (int j = 0; j < columns; j++) {
                int row = (j0 + j) * strideJ;
                for (int p = pFrom; p < pTo; p++) {
                    int block = p - p % KC;
                    int target = panelStart(block, columns, j, Math.min(KC, k - block)) + (p - block) * NR + j % NR;
                    packed[target] = j < n ? Nf4Kernels.weight(quantized, absmax, code, blockSize, row + p) : 0f;
                }
            }
            return;
        }
        for (int p = pFrom; p < pTo; p++) {
            int block = p - p % KC;
            int panelStride = Math.min(KC, k - block) * NR;
            int target = block * columns + (p - block) * NR;
            for (int panel = 0; panel < columns; panel += NR, target += panelStride) {
                for (int jj = 0; jj < NR; jj++) {
                    int j = panel + jj;
                    packed[target + jj] = j < n
                            ? Nf4Kernels.weight(quantized, absmax, code, blockSize, p * strideP + (j0 + j) * strideJ)
                            : 0f;
                }
            }
        }
    }

    /** Scratch for {@link #tile}: a sliver of op(A), then a tile of C for a partial panel ({@link #tile6Columns}). */
    static float[] tileScratch() {
        return new float[MR * KC + MR * NR];
    }

    /**
     * One tile of rows, the way a causal product needs it: rows [i, i + rows) of C (rows ≤ {@link #MR}),
     * only the panels of op(B) that start below column {@code jTo}, only the shared indices
     * [pFrom, pTo): C (+)= op(A)·op(B) over those. C's element (i, j) is {@code c[cBase + i·ldc + j]};
     * op(A)(i, p) is {@code a[aBase + i·aStrideI + p·aStrideP]}; op(B) [k, n] is {@linkplain #pack
     * packed}. A whole tile over at least {@link #SLIVER_COLUMNS} columns runs in {@link #tile6}, on
     * its rows of op(A) copied into {@code scratch} (a {@link #tileScratch}) once per block of the
     * shared dimension, a partial last panel through a copy of its columns ({@link #tile6Columns});
     * over fewer columns its whole panels run in pairs in {@link #tile6PairInPlace} (both below
     * {@code jTo}) where {@link #PANEL_PAIRS}, the others in {@link #tile6InPlace}; the rest runs
     * row by row.
     * Each output is summed in order of p, as {@link #multiplyPacked} sums it.
     */
    static void tile(float[] c, int cBase, int ldc, float[] a, int aBase, int aStrideI, int aStrideP, float[] packed,
            int n, int k, int i, int rows, int jTo, int pFrom, int pTo, boolean accumulate, float[] scratch) {
        int columns = packedColumns(n);
        boolean slivered = rows == MR && jTo >= SLIVER_COLUMNS;
        for (int block = pFrom - pFrom % KC; block < pTo; block += KC) {
            int depth = Math.min(KC, k - block);
            int first = Math.max(block, pFrom);
            int kc = Math.min(block + depth, pTo) - first;
            boolean load = accumulate || first > pFrom;
            if (slivered) {
                packSliver(scratch, 0, a, aBase, aStrideI, aStrideP, i, first, kc);
            }
            for (int panel = 0, span; panel < jTo; panel += span) {
                int panelBase = panelStart(block, columns, panel, depth) + (first - block) * NR;
                span = NR;
                if (slivered) {
                    tile6Columns(c, ldc, scratch, 0, packed, panelBase, i, cBase + panel, Math.min(NR, n - panel), kc,
                            load, MR * KC);
                    continue;
                }
                if (PANEL_PAIRS && rows == MR && panel + NR < jTo && panel + 2 * NR <= n) {
                    tile6PairInPlace(c, ldc, a, aBase, aStrideI, aStrideP, packed, panelBase, depth * NR, i,
                            cBase + panel, first, kc, load);
                    span = 2 * NR;
                    continue;
                }
                if (rows == MR && panel + NR <= n) {
                    tile6InPlace(c, ldc, a, aBase, aStrideI, aStrideP, packed, panelBase, i, cBase + panel, first, kc,
                            load);
                    continue;
                }
                VectorMask<Float> m0 = S.indexInRange(panel, n);
                VectorMask<Float> m1 = S.indexInRange(panel + L, n);
                for (int r = i; r < i + rows; r++) {
                    row(c, ldc, a, aBase, aStrideI, aStrideP, packed, panelBase, r, cBase + panel, first, kc, load, m0,
                            m1);
                }
            }
        }
    }

    /**
     * C[i..i+5, j..j+2L) (+)= the {@linkplain #packSliver sliver} of op(A) at {@code sliverBase} times
     * the kc packed rows of op(B) from {@code panelBase}: 12 accumulators in registers. Both indices
     * are computed from p afresh, a constant times p plus an invariant, which is the form whose bounds
     * checks C2 moves out of the loop. It loads and stores all 2L columns at j, unmasked: masked, it
     * grew too large for C1 ("out of virtual registers"), and a method C1 fails to compile at tier 3
     * can stay at tier 2 for good, which left products running at 1 GFLOP/s. A partial panel comes
     * through {@link #tile6Columns}' copy.
     */
    private static void tile6(float[] c, int ldc, float[] sliver, int sliverBase, float[] packed, int panelBase, int i,
            int j, int kc, boolean load) {
        int c0 = i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        FloatVector r00, r01, r10, r11, r20, r21, r30, r31, r40, r41, r50, r51;
        if (load) {
            r00 = FloatVector.fromArray(S, c, c0);
            r01 = FloatVector.fromArray(S, c, c0 + L);
            r10 = FloatVector.fromArray(S, c, c1);
            r11 = FloatVector.fromArray(S, c, c1 + L);
            r20 = FloatVector.fromArray(S, c, c2);
            r21 = FloatVector.fromArray(S, c, c2 + L);
            r30 = FloatVector.fromArray(S, c, c3);
            r31 = FloatVector.fromArray(S, c, c3 + L);
            r40 = FloatVector.fromArray(S, c, c4);
            r41 = FloatVector.fromArray(S, c, c4 + L);
            r50 = FloatVector.fromArray(S, c, c5);
            r51 = FloatVector.fromArray(S, c, c5 + L);
        } else {
            r00 = FloatVector.zero(S);
            r01 = r00;
            r10 = r00;
            r11 = r00;
            r20 = r00;
            r21 = r00;
            r30 = r00;
            r31 = r00;
            r40 = r00;
            r41 = r00;
            r50 = r00;
            r51 = r00;
        }
        for (int p = 0; p < kc; p++) {
            int q = panelBase + p * NR;
            int s = sliverBase + p * MR;
            FloatVector y0 = FloatVector.fromArray(S, packed, q);
            FloatVector y1 = FloatVector.fromArray(S, packed, q + L);
            FloatVector x = FloatVector.broadcast(S, sliver[s]);
            r00 = x.fma(y0, r00);
            r01 = x.fma(y1, r01);
            x = FloatVector.broadcast(S, sliver[s + 1]);
            r10 = x.fma(y0, r10);
            r11 = x.fma(y1, r11);
            x = FloatVector.broadcast(S, sliver[s + 2]);
            r20 = x.fma(y0, r20);
            r21 = x.fma(y1, r21);
            x = FloatVector.broadcast(S, sliver[s + 3]);
            r30 = x.fma(y0, r30);
            r31 = x.fma(y1, r31);
            x = FloatVector.broadcast(S, sliver[s + 4]);
            r40 = x.fma(y0, r40);
            r41 = x.fma(y1, r41);
            x = FloatVector.broadcast(S, sliver[s + 5]);
            r50 = x.fma(y0, r50);
            r51 = x.fma(y1, r51);
        }
        r00.intoArray(c, c0);
        r01.intoArray(c, c0 + L);
        r10.intoArray(c, c1);
        r11.intoArray(c, c1 + L);
        r20.intoArray(c, c2);
        r21.intoArray(c, c2 + L);
        r30.intoArray(c, c3);
        r31.intoArray(c, c3 + L);
        r40.intoArray(c, c4);
        r41.intoArray(c, c4 + L);
        r50.intoArray(c, c5);
        r51.intoArray(c, c5 + L);
    }

    /**
     * {@link #tile6} reading op(A) in place, for products too narrow to repay its slivers
     * ({@link #SLIVER_COLUMNS}): C[i..i+5, j..j+2L) over rows [block, block + kc) of the shared
     * dimension, whose first packed row is at {@code panelBase}; element (i, p) of op(A) is
     * {@code a[aBase + i·aStrideI + p·aStrideP]}. Its loop keeps six row offsets and a bounds check
     * per row (the stride is not a constant); its start and end are {@link #tile6}'s, written out
     * again because the twelve accumulators must stay in registers.
     */
    private static void tile6InPlace(float[] c, int ldc, float[] a, int aBase, int aStrideI, int aStrideP, float[] packed,
            int panelBase, int i, int j, int block, int kc, boolean load) {
        int c0 = i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        FloatVector r00, r01, r10, r11, r20, r21, r30, r31, r40, r41, r50, r51;
        if (load) {
            r00 = FloatVector.fromArray(S, c, c0);
            r01 = FloatVector.fromArray(S, c, c0 + L);
            r10 = FloatVector.fromArray(S, c, c1);
            r11 = FloatVector.fromArray(S, c, c1 + L);
            r20 = FloatVector.fromArray(S, c, c2);
            r21 = FloatVector.fromArray(S, c, c2 + L);
            r30 = FloatVector.fromArray(S, c, c3);
            r31 = FloatVector.fromArray(S, c, c3 + L);
            r40 = FloatVector.fromArray(S, c, c4);
            r41 = FloatVector.fromArray(S, c, c4 + L);
            r50 = FloatVector.fromArray(S, c, c5);
            r51 = FloatVector.fromArray(S, c, c5 + L);
        } else {
            r00 = FloatVector.zero(S);
            r01 = r00;
            r10 = r00;
            r11 = r00;
            r20 = r00;
            r21 = r00;
            r30 = r00;
            r31 = r00;
            r40 = r00;
            r41 = r00;
            r50 = r00;
            r51 = r00;
        }
        int a0 = aBase + i * aStrideI + block * aStrideP;
        int a1 = a0 + aStrideI, a2 = a1 + aStrideI, a3 = a2 + aStrideI, a4 = a3 + aStrideI, a5 = a4 + aStrideI;
        int q = panelBase;
        for (int p = 0; p < kc; p++, q += NR) {
            FloatVector y0 = FloatVector.fromArray(S, packed, q);
            FloatVector y1 = FloatVector.fromArray(S, packed, q + L);
            int ap = p * aStrideP;
            FloatVector x = FloatVector.broadcast(S, a[a0 + ap]);
            r00 = x.fma(y0, r00);
            r01 = x.fma(y1, r01);
            x = FloatVector.broadcast(S, a[a1 + ap]);
            r10 = x.fma(y0, r10);
            r11 = x.fma(y1, r11);
            x = FloatVector.broadcast(S, a[a2 + ap]);
            r20 = x.fma(y0, r20);
            r21 = x.fma(y1, r21);
            x = FloatVector.broadcast(S, a[a3 + ap]);
            r30 = x.fma(y0, r30);
            r31 = x.fma(y1, r31);
            x = FloatVector.broadcast(S, a[a4 + ap]);
            r40 = x.fma(y0, r40);
            r41 = x.fma(y1, r41);
            x = FloatVector.broadcast(S, a[a5 + ap]);
            r50 = x.fma(y0, r50);
            r51 = x.fma(y1, r51);
        }
        r00.intoArray(c, c0);
        r01.intoArray(c, c0 + L);
        r10.intoArray(c, c1);
        r11.intoArray(c, c1 + L);
        r20.intoArray(c, c2);
        r21.intoArray(c, c2 + L);
        r30.intoArray(c, c3);
        r31.intoArray(c, c3 + L);
        r40.intoArray(c, c4);
        r41.intoArray(c, c4 + L);
        r50.intoArray(c, c5);
        r51.intoArray(c, c5 + L);
    }

    /**
     * {@link #tile6InPlace} over two adjacent whole panels at once: C[i..i+5, j..j+4L), 24
     * accumulators. Reading op(A) in place costs per shared index six scalar loads with their bounds
     * checks and the row offsets' bookkeeping (docs/DESIGN.md, "The micro-kernel's compiled loop,
     * read"), about 28 instructions beside the multiply-adds; here each broadcast feeds four
     * multiply-adds instead of two, so that cost is spread over 24 of them instead of 12. The second
     * panel starts {@code second} floats after the first: the block's depth times {@link #NR} in
     * {@link #pack}'s layout. Each output is summed in order of p, as in every other tile, so the
     * results are the same bits. Written out in full like the other tiles: the 24 accumulators must
     * stay in registers (AVX-512's 32 vector registers hold them, four for B and one broadcast:
     * {@link #PANEL_PAIRS}).
     */
    private static void tile6PairInPlace(float[] c, int ldc, float[] a, int aBase, int aStrideI, int aStrideP,
            float[] packed, int panelBase, int second, int i, int j, int block, int kc, boolean load) {
        int c0 = i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        FloatVector r00, r01, r02, r03, r10, r11, r12, r13, r20, r21, r22, r23, r30, r31, r32, r33, r40, r41, r42, r43, r50, r51, r52, r53;
        if (load) {
            r00 = FloatVector.fromArray(S, c, c0);
            r01 = FloatVector.fromArray(S, c, c0 + L);
            r02 = FloatVector.fromArray(S, c, c0 + 2 * L);
            r03 = FloatVector.fromArray(S, c, c0 + 3 * L);
            r10 = FloatVector.fromArray(S, c, c1);
            r11 = FloatVector.fromArray(S, c, c1 + L);
            r12 = FloatVector.fromArray(S, c, c1 + 2 * L);
            r13 = FloatVector.fromArray(S, c, c1 + 3 * L);
            r20 = FloatVector.fromArray(S, c, c2);
            r21 = FloatVector.fromArray(S, c, c2 + L);
            r22 = FloatVector.fromArray(S, c, c2 + 2 * L);
            r23 = FloatVector.fromArray(S, c, c2 + 3 * L);
            r30 = FloatVector.fromArray(S, c, c3);
            r31 = FloatVector.fromArray(S, c, c3 + L);
            r32 = FloatVector.fromArray(S, c, c3 + 2 * L);
            r33 = FloatVector.fromArray(S, c, c3 + 3 * L);
            r40 = FloatVector.fromArray(S, c, c4);
            r41 = FloatVector.fromArray(S, c, c4 + L);
            r42 = FloatVector.fromArray(S, c, c4 + 2 * L);
            r43 = FloatVector.fromArray(S, c, c4 + 3 * L);
            r50 = FloatVector.fromArray(S, c, c5);
            r51 = FloatVector.fromArray(S, c, c5 + L);
            r52 = FloatVector.fromArray(S, c, c5 + 2 * L);
            r53 = FloatVector.fromArray(S, c, c5 + 3 * L);
        } else {
            r00 = FloatVector.zero(S);
            r01 = r00;
            r02 = r00;
            r03 = r00;
            r10 = r00;
            r11 = r00;
            r12 = r00;
            r13 = r00;
            r20 = r00;
            r21 = r00;
            r22 = r00;
            r23 = r00;
            r30 = r00;
            r31 = r00;
            r32 = r00;
            r33 = r00;
            r40 = r00;
            r41 = r00;
            r42 = r00;
            r43 = r00;
            r50 = r00;
            r51 = r00;
            r52 = r00;
            r53 = r00;
        }
        int a0 = aBase + i * aStrideI + block * aStrideP;
        int a1 = a0 + aStrideI, a2 = a1 + aStrideI, a3 = a2 + aStrideI, a4 = a3 + aStrideI, a5 = a4 + aStrideI;
        int q = panelBase;
        for (int p = 0; p < kc; p++, q += NR) {
            FloatVector y0 = FloatVector.fromArray(S, packed, q);
            FloatVector y1 = FloatVector.fromArray(S, packed, q + L);
            FloatVector y2 = FloatVector.fromArray(S, packed, q + second);
            FloatVector y3 = FloatVector.fromArray(S, packed, q + second + L);
            int ap = p * aStrideP;
            FloatVector x = FloatVector.broadcast(S, a[a0 + ap]);
            r00 = x.fma(y0, r00);
            r01 = x.fma(y1, r01);
            r02 = x.fma(y2, r02);
            r03 = x.fma(y3, r03);
            x = FloatVector.broadcast(S, a[a1 + ap]);
            r10 = x.fma(y0, r10);
            r11 = x.fma(y1, r11);
            r12 = x.fma(y2, r12);
            r13 = x.fma(y3, r13);
            x = FloatVector.broadcast(S, a[a2 + ap]);
            r20 = x.fma(y0, r20);
            r21 = x.fma(y1, r21);
            r22 = x.fma(y2, r22);
            r23 = x.fma(y3, r23);
            x = FloatVector.broadcast(S, a[a3 + ap]);
            r30 = x.fma(y0, r30);
            r31 = x.fma(y1, r31);
            r32 = x.fma(y2, r32);
            r33 = x.fma(y3, r33);
            x = FloatVector.broadcast(S, a[a4 + ap]);
            r40 = x.fma(y0, r40);
            r41 = x.fma(y1, r41);
            r42 = x.fma(y2, r42);
            r43 = x.fma(y3, r43);
            x = FloatVector.broadcast(S, a[a5 + ap]);
            r50 = x.fma(y0, r50);
            r51 = x.fma(y1, r51);
            r52 = x.fma(y2, r52);
            r53 = x.fma(y3, r53);
        }
        r00.intoArray(c, c0);
        r01.intoArray(c, c0 + L);
        r02.intoArray(c, c0 + 2 * L);
        r03.intoArray(c, c0 + 3 * L);
        r10.intoArray(c, c1);
        r11.intoArray(c, c1 + L);
        r12.intoArray(c, c1 + 2 * L);
        r13.intoArray(c, c1 + 3 * L);
        r20.intoArray(c, c2);
        r21.intoArray(c, c2 + L);
        r22.intoArray(c, c2 + 2 * L);
        r23.intoArray(c, c2 + 3 * L);
        r30.intoArray(c, c3);
        r31.intoArray(c, c3 + L);
        r32.intoArray(c, c3 + 2 * L);
        r33.intoArray(c, c3 + 3 * L);
        r40.intoArray(c, c4);
        r41.intoArray(c, c4 + L);
        r42.intoArray(c, c4 + 2 * L);
        r43.intoArray(c, c4 + 3 * L);
        r50.intoArray(c, c5);
        r51.intoArray(c, c5 + L);
        r52.intoArray(c, c5 + 2 * L);
        r53.intoArray(c, c5 + 3 * L);
    }

    /**
     * {@link #tile6} on a panel of which only {@code width} columns exist in C: all {@link #NR}
     * in place; fewer (a last panel, whose packed columns past them are zeros) on a copy of those
     * columns in {@code sliver} from {@code scratchBase} ({@link #MR} rows of {@link #NR} floats),
     * which then goes back into C. The copy keeps masked loads and stores out of {@link #tile6}.
     */
    private static void tile6Columns(float[] c, int ldc, float[] sliver, int sliverBase, float[] packed,
            int panelBase, int i, int j, int width, int kc, boolean load, int scratchBase) {
        if (width == NR) {
            tile6(c, ldc, sliver, sliverBase, packed, panelBase, i, j, kc, load);
            return;
        }
        if (load) {
            for (int r = 0; r < MR; r++) {
                System.arraycopy(c, (i + r) * ldc + j, sliver, scratchBase + r * NR, width);
            }
        }
        tile6(sliver, NR, sliver, sliverBase, packed, panelBase, 0, scratchBase, kc, load);
        for (int r = 0; r < MR; r++) {
            System.arraycopy(sliver, scratchBase + r * NR, c, (i + r) * ldc + j, width);
        }
    }

    /**
     * One row of C over one panel: the rows left over by {@link #tile6}'s whole tiles, with op(A) read
     * in place; the masks keep columns past n out of C.
     */
    private static void row(float[] c, int ldc, float[] a, int aBase, int aStrideI, int aStrideP, float[] packed,
            int panelBase, int i, int j, int block, int kc, boolean load, VectorMask<Float> m0, VectorMask<Float> m1) {
        int c0 = i * ldc + j;
        FloatVector r0 = load ? FloatVector.fromArray(S, c, c0, m0) : FloatVector.zero(S);
        FloatVector r1 = load ? FloatVector.fromArray(S, c, c0 + L, m1) : FloatVector.zero(S);
        int a0 = aBase + i * aStrideI + block * aStrideP;
        int q = panelBase;
        for (int p = 0; p < kc; p++, q += NR) {
            FloatVector x = FloatVector.broadcast(S, a[a0 + p * aStrideP]);
            r0 = x.fma(FloatVector.fromArray(S, packed, q), r0);
            r1 = x.fma(FloatVector.fromArray(S, packed, q + L), r1);
        }
        r0.intoArray(c, c0, m0);
        r1.intoArray(c, c0 + L, m1);
    }
}
