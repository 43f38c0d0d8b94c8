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
}
