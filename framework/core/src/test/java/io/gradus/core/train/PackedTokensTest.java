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
}
