package io.gradus.api.data;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Sequences of one record that go through the model together, in adjacent rows of one batch, never
 * split between batches: a preference pair (chosen, then rejected), or a single prompt for
 * generation. An objective that batches {@code GROUPS} turns each record into one.
 *
 * @param sequences the sequences in row order; their targets mark the completion tokens (the
 *     positions whose next-token labels are kept), the rest of each row is context
 * @param values named numbers of the record for the objective ({@code margin},
 *     {@code ref_chosen_logps}); absent names are NaN in a batch
 */
public record SequenceGroup(List<Example> sequences, Map<String, Double> values) {

    public SequenceGroup {
        sequences = List.copyOf(sequences);
        values = Map.copyOf(values);
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("a group needs at least one sequence");
        }
        for (Example e : sequences) {
            Objects.requireNonNull(e, "sequence");
            if (e.ids().length == 0) {
                throw new IllegalArgumentException("a sequence of a group needs at least one token");
            }
        }
    }

    /** Sequences without values. */
    public static SequenceGroup of(Example... sequences) {
        return new SequenceGroup(List.of(sequences), Map.of());
    }
}
