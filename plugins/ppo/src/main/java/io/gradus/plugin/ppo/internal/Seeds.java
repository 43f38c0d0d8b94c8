package io.gradus.plugin.ppo.internal;

/**
 * Seeds derived from the job's seed and a position in the run (iteration, row, epoch), so that every
 * random draw of PPO (a response's tokens, an epoch's order of rows) is a function of where it happens:
 * a resumed run draws exactly what the uninterrupted one did, with no random state to checkpoint.
 */
final class Seeds {

    /** Marks the draws of held-out evaluation, apart from any iteration's. */
    static final long EVALUATION = -1;

    private Seeds() {}

    /** A seed from {@code parts}, each folded in with SplitMix64's finaliser (Steele et al. 2014). */
    static long of(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long part : parts) {
            h = mix(h ^ mix(part + 0x9E3779B97F4A7C15L));
        }
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
