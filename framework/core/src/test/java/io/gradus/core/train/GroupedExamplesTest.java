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
        assertThat(source.position()).as("the pass leaves the position where next() left it").isZero();
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
