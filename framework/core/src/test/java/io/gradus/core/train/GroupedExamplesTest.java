package io.gradus.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.model.TokenBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GroupedExamplesTest {

    private static final int PAD = 0;
    private static final int I = TokenBatch.IGNORE;

    private static Example completion(int promptLength, int... ids) {
        boolean[] targets = new boolean[ids.length];
        for (int t = promptLength; t < ids.length; t++) {
            targets[t] = true;
        }
        return new Example(ids, targets);
    }

    private static List<SequenceGroup> pairs() {
        return List.of(
                new SequenceGroup(List.of(completion(2, 1, 5, 6, 7), completion(2, 1, 5, 8)), Map.of("margin", 0.5)),
                new SequenceGroup(List.of(completion(1, 1, 9), completion(1, 1, 3, 4, 4, 4)), Map.of()),
                SequenceGroup.of(completion(1, 1, 2), completion(1, 1, 4)));
    }

    @Test
    @DisplayName("pairs sit in adjacent rows, right-padded, labels on the completions only, values per group")
    void pairsInAdjacentRows() {
        GroupedExamples source = new GroupedExamples(pairs(), new int[] {10, 11, 12}, 2, 6, PAD);
        TokenBatch batch = source.next();

        assertThat(batch.batchSize()).as("2 pairs = 4 rows").isEqualTo(4);
        assertThat(batch.inputIds()).containsExactly(
                1, 5, 6, 7, 0, 0,
                1, 5, 8, 0, 0, 0,
                1, 9, 0, 0, 0, 0,
                1, 3, 4, 4, 4, 0);
        assertThat(batch.labels()).containsExactly(
                I, 6, 7, I, I, I,
                I, 8, I, I, I, I,
                9, I, I, I, I, I,
                3, 4, 4, 4, I, I);
        assertThat(batch.lengths()).containsExactly(4, 3, 2, 5);
        assertThat(batch.groups().size()).isEqualTo(2);
        assertThat(batch.groups().indices()).containsExactly(10, 11);
        assertThat(batch.groups().value("margin")).containsExactly(0.5, Double.NaN);
    }

    @Test
    @DisplayName("batches wrap around at the end, seek returns to a position, a pass covers each group once")
    void wrapsAndPasses() {
        GroupedExamples source = new GroupedExamples(pairs(), new int[] {10, 11, 12}, 2, 6, PAD);
        source.next();
        assertThat(source.next().groups().indices()).containsExactly(12, 10);
        source.seek(1);
        assertThat(source.next().groups().indices()).containsExactly(11, 12);

        List<int[]> indices = new ArrayList<>();
        source.pass().forEach(b -> indices.add(b.groups().indices()));
        assertThat(indices).containsExactly(new int[] {10, 11}, new int[] {12});
        assertThat(source.position()).as("the pass leaves the position where next() left it").isEqualTo(3);
    }

    /** {@code n} pairs whose record indices are 100 + their place in the file. */
    private static GroupedExamples numbered(int n, int perBatch, long seed) {
        List<SequenceGroup> groups = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            groups.add(SequenceGroup.of(completion(1, 1, 2 + i % 5), completion(1, 1, 3 + i % 5)));
        }
        int[] indices = java.util.stream.IntStream.range(100, 100 + n).toArray();
        return new GroupedExamples(groups, indices, perBatch, 4, PAD, seed);
    }

    /** The record indices of the next {@code batches} batches, one after another. */
    private static List<Integer> take(GroupedExamples source, int batches) {
        List<Integer> taken = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            for (int index : source.next().groups().indices()) {
                taken.add(index);
            }
        }
        return taken;
    }

    @Test
    @DisplayName("with a seed, each epoch takes every group once in its own order, the same for the same seed")
    void shufflesEachEpoch() {
        List<Integer> taken = take(numbered(40, 4, 7), 30); // 3 epochs of 40
        List<Integer> fileOrder = java.util.stream.IntStream.range(100, 140).boxed().toList();
        ShuffledEpochs.assertEachEpochShuffled(taken, fileOrder);
        assertThat(take(numbered(40, 4, 7), 30)).as("deterministic").isEqualTo(taken);
        assertThat(take(numbered(40, 4, 8), 30)).as("another seed, another order").isNotEqualTo(taken);
        List<Integer> passed = new ArrayList<>();
        numbered(40, 4, 7).pass().forEach(b -> java.util.Arrays.stream(b.groups().indices()).forEach(passed::add));
        assertThat(passed).as("a pass (evaluation, preparation) keeps the file's order").isEqualTo(fileOrder);
    }

    @Test
    @DisplayName("the position names the epoch and the place in it: seeking to it resumes the same batches")
    void resumesExactly() {
        GroupedExamples source = numbered(10, 3, 11);
        take(source, 5); // 15 groups: epoch 1, place 5
        long position = source.position();
        assertThat(position).isEqualTo(15);
        List<Integer> next = take(source, 4); // crosses into epoch 2

        GroupedExamples resumed = numbered(10, 3, 11);
        resumed.seek(position);
        assertThat(take(resumed, 4)).isEqualTo(next);
        assertThatThrownBy(() -> resumed.seek(-1)).hasMessageContaining("negative");
    }

    @Test
    @DisplayName("groups of different sizes or sequences longer than a row are refused")
    void refusesMisfits() {
        List<SequenceGroup> mixed = List.of(pairs().get(0), SequenceGroup.of(completion(1, 1, 2)));
        assertThatThrownBy(() -> new GroupedExamples(mixed, new int[] {0, 1}, 1, 6, PAD)).hasMessageContaining("group 1");
        assertThatThrownBy(() -> new GroupedExamples(pairs(), new int[] {0, 1, 2}, 1, 4, PAD))
                .hasMessageContaining("longer than 4");
    }
}
