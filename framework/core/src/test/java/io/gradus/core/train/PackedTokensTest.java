package io.gradus.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.data.Example;
import io.gradus.api.model.TokenBatch;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PackedTokensTest {

    private static final int I = TokenBatch.IGNORE;

    @Test
    @DisplayName("examples are joined; labels are the next tokens, ignored where they are not targets")
    void packsWithTargets() {
        // A prompt/completion example (prompt 10 11 not targets) then a fully targeted one.
        Example sft = new Example(new int[] {10, 11, 12, 13}, new boolean[] {false, false, true, true});
        Example text = Example.allTargets(new int[] {20, 21, 22});
        PackedTokens packed = PackedTokens.of(List.of(sft, text), 2, 3);

        TokenBatch batch = packed.next();
        assertThat(batch.inputIds()).containsExactly(10, 11, 12, 13, 20, 21);
        assertThat(batch.labels()).containsExactly(I, 12, 13, I, 21, 22);
        assertThat(packed.position()).isEqualTo(6);

        TokenBatch wrapped = packed.next(); // the stream has 7 tokens: windows wrap into the next epoch
        assertThat(wrapped.inputIds()).containsExactly(22, 10, 11, 12, 13, 20);
        assertThat(wrapped.labels()).containsExactly(I, I, 12, 13, I, 21);
    }

    @Test
    @DisplayName("without packing, each example gets its own row: cut to seqLen, or padded with ignored labels")
    void padsWithoutPacking() {
        Example sft = new Example(new int[] {10, 11, 12, 13}, new boolean[] {false, false, true, true});
        Example longText = Example.allTargets(new int[] {20, 21, 22, 23, 24, 25});
        PaddedExamples padded = new PaddedExamples(List.of(sft, longText), 2, 4, 0);

        TokenBatch batch = padded.next();
        assertThat(batch.inputIds()).containsExactly(10, 11, 12, 13, 20, 21, 22, 23);
        assertThat(batch.labels()).containsExactly(I, 12, 13, I, 21, 22, 23, 24);
        PaddedExamples shortRows = new PaddedExamples(List.of(Example.allTargets(new int[] {5, 6})), 1, 4, 2);
        assertThat(shortRows.next().inputIds()).containsExactly(5, 6, 2, 2);
        shortRows.seek(0);
        assertThat(shortRows.next().labels()).containsExactly(6, I, I, I);
    }

    @Test
    @DisplayName("seeking to a recorded position replays the same batches")
    void seek() {
        PackedTokens packed = new PackedTokens(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 4);
        packed.next();
        long mark = packed.position();
        TokenBatch expected = packed.next();
        packed.seek(mark);
        assertThat(packed.next().inputIds()).containsExactly(expected.inputIds());
    }

    /** A stream 0, 1, ..., n−1 of distinct tokens, so a window is known by its first token. */
    private static List<Example> counting(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        return List.of(Example.allTargets(ids));
    }

    /** The first token of each of the next {@code rows} windows, one row per batch. */
    private static List<Integer> windowStarts(BatchSource source, int rows) {
        List<Integer> starts = new java.util.ArrayList<>();
        for (int r = 0; r < rows; r++) {
            TokenBatch batch = source.next();
            for (int b = 0; b < batch.batchSize(); b++) {
                int first = batch.inputIds()[b * batch.seqLen()];
                for (int t = 0; t < batch.seqLen(); t++) {
                    assertThat(batch.inputIds()[b * batch.seqLen() + t]).as("a window is consecutive tokens").isEqualTo(first + t);
                    assertThat(batch.labels()[b * batch.seqLen() + t]).as("labels are the next tokens").isEqualTo(first + t + 1);
                }
                starts.add(first);
            }
        }
        return starts;
    }

    @Test
    @DisplayName("with a seed, each epoch takes every whole window once in its own order; the remainder is left out")
    void shuffledWindows() {
        // 103 tokens, windows of T+1 = 5 tokens starting every 4: (103 − 1) / 4 = 25 whole windows
        // (starts 0, 4, ..., 96), the last 2 tokens left out.
        List<Integer> fileOrder = java.util.stream.IntStream.range(0, 25).map(w -> w * 4).boxed().toList();
        List<Integer> taken = windowStarts(PackedTokens.of(counting(103), 5, 4, 42), 15); // 3 epochs
        ShuffledEpochs.assertEachEpochShuffled(taken, fileOrder);
        assertThat(windowStarts(PackedTokens.of(counting(103), 5, 4, 42), 15)).as("the same seed, the same order").isEqualTo(taken);
        assertThat(windowStarts(PackedTokens.of(counting(103), 5, 4, 43), 15)).as("another seed, another order").isNotEqualTo(taken);
        // Rows of a batch may straddle two epochs: 3 rows per batch over 25 windows.
        assertThat(windowStarts(PackedTokens.of(counting(103), 3, 4, 42), 25)).as("the order does not depend on the batch size")
                .isEqualTo(taken);
    }

    @Test
    @DisplayName("with a seed, the position counts the windows taken: seeking to it replays the same batches mid-epoch")
    void shuffledSeek() {
        PackedTokens source = PackedTokens.of(counting(103), 4, 4, 42);
        windowStarts(source, 7); // 28 windows: epoch 1, place 3
        long mark = source.position();
        assertThat(mark).isEqualTo(28);
        List<Integer> next = windowStarts(source, 6); // crosses into epoch 2
        PackedTokens resumed = PackedTokens.of(counting(103), 4, 4, 42);
        resumed.seek(mark);
        assertThat(windowStarts(resumed, 6)).isEqualTo(next);
    }

    @Test
    @DisplayName("padded rows with a seed: each epoch takes every example once in its own order; seeking resumes")
    void shuffledPaddedRows() {
        List<Example> examples = java.util.stream.IntStream.range(0, 30).mapToObj(i -> Example.allTargets(new int[] {i, i + 100}))
                .toList();
        PaddedExamples padded = new PaddedExamples(examples, 4, 3, 0, 42);
        List<Integer> taken = new java.util.ArrayList<>();
        for (int b = 0; b < 15; b++) { // 60 rows: two epochs
            TokenBatch batch = padded.next();
            for (int r = 0; r < 4; r++) {
                int id = batch.inputIds()[r * 3];
                assertThat(batch.inputIds()).as("row %d", r).containsSequence(id, id + 100, 0);
                assertThat(batch.labels()[r * 3]).isEqualTo(id + 100);
                taken.add(id);
            }
        }
        ShuffledEpochs.assertEachEpochShuffled(taken, java.util.stream.IntStream.range(0, 30).boxed().toList());
        PaddedExamples resumed = new PaddedExamples(examples, 4, 3, 0, 42);
        resumed.seek(28); // 2 rows before the end of epoch 1
        TokenBatch batch = resumed.next();
        assertThat(new int[] {batch.inputIds()[0], batch.inputIds()[3], batch.inputIds()[6], batch.inputIds()[9]})
                .containsExactly(taken.get(28), taken.get(29), taken.get(30), taken.get(31));
    }
}
