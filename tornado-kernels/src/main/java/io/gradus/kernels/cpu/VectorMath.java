package io.gradus.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementary functions on float vectors, built only from IEEE-exact lane operations (add, multiply,
 * fused multiply-add, compare): unlike {@code lanewise(EXP)}, whose result may differ between the
 * interpreter and compiled code, these give the same bits however the JIT has compiled them, which
 * keeps training runs exactly reproducible.
 */
final class VectorMath {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in a part with trailing zero bits (n·LN2_HI is exact for |n| < 2^10) and the rest. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5·2^23: adding and subtracting it rounds a float of magnitude < 2^22 to the nearest integer. */
    private static final float ROUND = 12582912f;
    /**
     * Inputs are clamped to [MIN_X, MAX_X]: below, e^x leaves the normal floats (the result stays at
     * e^MIN_X ≈ 1.2e-38 instead of going subnormal); above, 2^n would need exponent bits past 254.
     */
    private static final float MIN_X = -87.33f;
    private static final float MAX_X = 88.3f;

    private VectorMath() {}

    /**
     * e^x per lane, within 2 ulp on [−87.33, 88.3] (clamped outside): x = n·ln2 + r with |r| ≤ ln2/2 (Cody-Waite reduction), e^r by its
     * Taylor polynomial of degree 7 (truncation error below 2e-9 relative on that interval), times 2^n
     * built in the exponent bits.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(MIN_X).min(MAX_X);
        FloatVector n = x.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND)).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, 1f / 5040);
        p = p.fma(r, FloatVector.broadcast(S, 1f / 720));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        IntVector exponent = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(exponent.reinterpretAsFloats());
    }

    /** The scalar twin of {@link #exp(FloatVector)}, for loop tails: the same arithmetic, lane by lane. */
    static float exp(float x) {
        x = Math.min(Math.max(x, MIN_X), MAX_X);
        float n = Math.fma(x, LOG2E, ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = 1f / 5040;
        p = Math.fma(p, r, 1f / 720);
        p = Math.fma(p, r, 1f / 120);
        p = Math.fma(p, r, 1f / 24);
        p = Math.fma(p, r, 1f / 6);
        p = Math.fma(p, r, 0.5f);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /**
     * The sum of a vector's lanes, in lane order. Not {@code reduceLanes(ADD)}: its order of
     * additions differs between the interpreter and compiled code, which would make results depend
     * on JIT timing, and training runs must be exactly reproducible (checkpoint resume).
     */
    static float sum(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        float sum = 0f;
        for (float lane : lanes) {
            sum += lane;
        }
        return sum;
    }
}
