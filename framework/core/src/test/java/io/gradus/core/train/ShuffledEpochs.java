package io.gradus.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

/** What a data source that takes a new order each epoch must show, for the sources' tests. */
final class ShuffledEpochs {

    private ShuffledEpochs() {}

    /**
     * Asserts that {@code taken}, cut into epochs of {@code fileOrder.size()} items, holds every item
     * once per epoch, never in the file's order, and that consecutive epochs' orders differ.
     */
    static void assertEachEpochShuffled(List<Integer> taken, List<Integer> fileOrder) {
        int size = fileOrder.size();
        assertThat(taken.size() % size).as("whole epochs taken").isZero();
        List<List<Integer>> epochs = new ArrayList<>();
        for (int first = 0; first < taken.size(); first += size) {
            epochs.add(taken.subList(first, first + size));
        }
        for (int e = 0; e < epochs.size(); e++) {
            assertThat(epochs.get(e)).as("epoch %d is a permutation", e).containsExactlyInAnyOrderElementsOf(fileOrder);
            assertThat(epochs.get(e)).as("epoch %d is not the file's order", e).isNotEqualTo(fileOrder);
            if (e > 0) {
                assertThat(epochs.get(e)).as("epochs %d and %d differ", e - 1, e).isNotEqualTo(epochs.get(e - 1));
            }
        }
    }
}
