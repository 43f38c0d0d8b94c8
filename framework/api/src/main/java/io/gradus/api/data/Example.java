package io.gradus.api.data;

import java.util.Objects;

/**
 * One training example: token ids, and for each position whether that token is a target (predicted
 * from the tokens before it and counted in the loss). Pre-training targets every token; SFT only the
 * completion's.
 *
 * @param ids token ids
 * @param targets {@code targets[i]} is true when {@code ids[i]} takes a loss; same length as ids
 */
public record Example(int[] ids, boolean[] targets) {

    public Example {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(targets, "targets");
        if (ids.length != targets.length) {
            throw new IllegalArgumentException("an example needs one target flag per token: " + ids.length + " ids, "
                    + targets.length + " flags");
        }
    }

    /** An example whose every token after the first is a target. */
    public static Example allTargets(int[] ids) {
        boolean[] targets = new boolean[ids.length];
        for (int i = 1; i < ids.length; i++) {
            targets[i] = true;
        }
        return new Example(ids, targets);
    }
}
