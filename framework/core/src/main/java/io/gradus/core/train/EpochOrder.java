package io.gradus.core.train;

import java.util.SplittableRandom;

/**
 * The order in which a data source takes its n items (packed windows, examples, groups of
 * sequences), epoch after epoch. Shuffled, each epoch has an order of its own: a Fisher–Yates
 * permutation drawn from a generator seeded by the job's seed and the epoch's number (as Hugging
 * Face's and TRL's trainers draw a new {@code RandomSampler} order every epoch). SplittableRandom
 * passes each state through a 64-bit mixing function, so the draws of neighbouring epochs (states
 * one apart) are unrelated; a seed one higher gives the stream one draw later, which a Fisher–Yates
 * shuffle, whose bound changes with every draw, turns into an unrelated order. Unshuffled, the
 * file's order every epoch.
 *
 * <p>A source counts the items taken since the start; that count names the epoch ({@code taken / n})
 * and the place in it ({@code taken % n}), so the same count gives the same item on every run: a
 * checkpoint that records it resumes exactly, mid-epoch included.
 */
final class EpochOrder {

    private final int size;
    private final long seed;
    /** Per place in {@link #epoch}, the item taken there; null in the file's order, where it is the place. */
    private final int[] order;
    private long epoch = -1;

    /** Shuffled with {@code seed} when {@code shuffled}, else the file's order. */
    EpochOrder(int size, boolean shuffled, long seed) {
        if (size < 1) {
            throw new IllegalArgumentException("no items to take");
        }
        this.size = size;
        this.order = shuffled ? new int[size] : null;
        this.seed = seed;
    }

    /** The item taken when {@code taken} items have been taken since the start. */
    int item(long taken) {
        if (taken < 0) {
            throw new IllegalArgumentException("position " + taken + " is negative: it counts the items taken");
        }
        if (order == null) {
            return (int) (taken % size);
        }
        long wanted = taken / size;
        if (wanted != epoch) {
            for (int i = 0; i < size; i++) {
                order[i] = i;
            }
            SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + wanted);
            for (int i = size - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
            epoch = wanted;
        }
        return order[(int) (taken % size)];
    }
}
