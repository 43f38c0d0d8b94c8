package io.gradus.core.train;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.model.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Batches of whole {@link SequenceGroup}s (preference pairs): each batch holds {@code groupsPerBatch}
 * groups of k sequences in adjacent rows (group g in rows g·k … g·k+k−1), each row one sequence
 * right-padded with {@code padId} to T positions, never packed or split. A row's labels are the
 * next tokens at the positions whose next token is a target of its sequence, ignored elsewhere (the
 * padding included).
 *
 * <p>Batches take the groups epoch after epoch. With a seed, each epoch takes them in an order of its
 * own, a permutation drawn from the seed and the epoch's number (as TRL's trainers shuffle their data
 * every epoch); without one, in the file's order ({@link EpochOrder}). A batch may end one epoch and
 * begin the next. The {@link #position()} counts the groups taken since the start, so it names both
 * the epoch and the place in it: seeking to it resumes exactly, mid-epoch included.
 */
public final class GroupedExamples implements BatchSource {

    private final List<SequenceGroup> groups;
    private final int[] indices;
    private final int groupSize;
    private final int groupsPerBatch;
    private final int seqLen;
    private final int padId;
    /** Every value name of any group, in a stable order: each batch carries all of them. */
    private final List<String> valueNames;
    /** The order the groups are taken in, epoch after epoch. */
    private final EpochOrder order;
    private long position;

    /**
     * @param groups the groups, each of the same number of sequences, none longer than {@code seqLen}
     * @param indices per group, its index among the records of its file (kept in the batches)
     * @param seed the job's seed: each epoch's order of the groups is drawn from it and the epoch
     */
    public GroupedExamples(List<SequenceGroup> groups, int[] indices, int groupsPerBatch, int seqLen, int padId,
            long seed) {
        this(groups, indices, groupsPerBatch, seqLen, padId, true, seed);
    }

    /** Groups taken in the file's order, every epoch (held-out data, tests). */
    public GroupedExamples(List<SequenceGroup> groups, int[] indices, int groupsPerBatch, int seqLen, int padId) {
        this(groups, indices, groupsPerBatch, seqLen, padId, false, 0);
    }

    private GroupedExamples(List<SequenceGroup> groups, int[] indices, int groupsPerBatch, int seqLen, int padId,
            boolean shuffled, long seed) {
        if (groups.isEmpty()) {
            throw new IllegalArgumentException("no groups");
        }
        if (indices.length != groups.size()) {
            throw new IllegalArgumentException(groups.size() + " groups need as many indices, got " + indices.length);
        }
        this.groups = List.copyOf(groups);
        this.indices = indices.clone();
        this.groupSize = groups.getFirst().sequences().size();
        this.groupsPerBatch = groupsPerBatch;
        this.seqLen = seqLen;
        this.padId = padId;
        TreeSet<String> names = new TreeSet<>();
        for (int g = 0; g < groups.size(); g++) {
            SequenceGroup group = groups.get(g);
            if (group.sequences().size() != groupSize) {
                throw new IllegalArgumentException("group " + indices[g] + " has " + group.sequences().size()
                        + " sequences, the first has " + groupSize + ": every record must give as many");
            }
            for (Example e : group.sequences()) {
                if (e.ids().length > seqLen) {
                    throw new IllegalArgumentException("group " + indices[g] + " has a sequence of " + e.ids().length
                            + " tokens, longer than " + seqLen);
                }
            }
            names.addAll(group.values().keySet());
        }
        this.valueNames = List.copyOf(names);
        this.order = new EpochOrder(groups.size(), shuffled, seed);
    }

    /** Groups in one pass over the data. */
    public int size() {
        return groups.size();
    }

    @Override
    public TokenBatch next() {
        List<Integer> chosen = new ArrayList<>(groupsPerBatch);
        for (int g = 0; g < groupsPerBatch; g++) {
            chosen.add(order.item(position));
            position++;
        }
        return batch(chosen);
    }

    /**
     * One pass over every group in the file's order, in batches of up to {@code groupsPerBatch}
     * groups (the last one may hold fewer): for held-out evaluation and an objective's preparation.
     * Does not move {@link #position()}.
     */
    @Override
    public Iterable<TokenBatch> pass() {
        return () -> new Iterator<>() {
            private int at;

            @Override
            public boolean hasNext() {
                return at < groups.size();
            }

            @Override
            public TokenBatch next() {
                List<Integer> chosen = new ArrayList<>();
                for (int g = at; g < Math.min(groups.size(), at + groupsPerBatch); g++) {
                    chosen.add(g);
                }
                at += chosen.size();
                return batch(chosen);
            }
        };
    }

    private TokenBatch batch(List<Integer> chosen) {
        int rows = chosen.size() * groupSize;
        int[] inputs = new int[rows * seqLen];
        int[] labels = new int[rows * seqLen];
        int[] lengths = new int[rows];
        int[] groupIndices = new int[chosen.size()];
        Map<String, double[]> values = new LinkedHashMap<>();
        valueNames.forEach(name -> values.put(name, new double[chosen.size()]));
        for (int g = 0; g < chosen.size(); g++) {
            SequenceGroup group = groups.get(chosen.get(g));
            groupIndices[g] = indices[chosen.get(g)];
            for (String name : valueNames) {
                values.get(name)[g] = group.values().getOrDefault(name, Double.NaN);
            }
            for (int s = 0; s < groupSize; s++) {
                Example e = group.sequences().get(s);
                int row = g * groupSize + s;
                lengths[row] = e.ids().length;
                Arrays.fill(inputs, row * seqLen, (row + 1) * seqLen, padId);
                Arrays.fill(labels, row * seqLen, (row + 1) * seqLen, TokenBatch.IGNORE);
                System.arraycopy(e.ids(), 0, inputs, row * seqLen, e.ids().length);
                for (int t = 0; t + 1 < e.ids().length; t++) {
                    if (e.targets()[t + 1]) {
                        labels[row * seqLen + t] = e.ids()[t + 1];
                    }
                }
            }
        }
        return new TokenBatch(rows, seqLen, inputs, labels, lengths, new TokenBatch.Groups(groupSize, groupIndices, values));
    }

    /** Groups taken since the start: epoch {@code position / size()}, place {@code position % size()} in it. */
    @Override
    public long position() {
        return position;
    }

    @Override
    public void seek(long position) {
        if (position < 0) {
            throw new IllegalArgumentException("position " + position + " is negative: it counts the groups taken");
        }
        this.position = position;
    }
}
