package io.gradus.api.technique;

/** How the trainer turns an objective's records into batches (see {@link Objective#batching}). */
public enum Batching {
    /**
     * Each record is one {@link io.gradus.api.data.Example} ({@link Objective#encode}); examples are
     * packed end to end into full rows, or given a row each, as the job's {@code hyper.packing} says.
     */
    TEXT,
    /**
     * Each record is one {@link io.gradus.api.data.SequenceGroup} ({@link Objective#encodeGroup}); a
     * batch holds {@code hyper.batchSize} whole groups in adjacent rows, each row right-padded to
     * {@code hyper.seqLen} with the model's pad id, never split or packed.
     */
    GROUPS
}
