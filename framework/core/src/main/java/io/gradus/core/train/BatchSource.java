package io.gradus.core.train;

import io.gradus.api.model.TokenBatch;

/**
 * Where training batches come from, deterministically: the same position always gives the same
 * next batch, so a checkpoint that records the position resumes the data stream exactly.
 */
public interface BatchSource {

    /** The next micro-batch. */
    TokenBatch next();

    /** An opaque position in the stream, before the next batch. */
    long position();

    /** Moves to a position returned by {@link #position()}. */
    void seek(long position);

    /**
     * One pass over the data from its start, in batches as {@link #next()} makes them (the last one
     * may be smaller): for an objective's preparation over the whole training set. Does not move
     * {@link #position()}. Sources that stand for no data set (a benchmark's fixed batch) refuse.
     */
    default Iterable<TokenBatch> pass() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " makes no pass over a data set");
    }
}
