package io.gradus.api.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class TokenBatchTest {

    @Test
    @DisplayName("the score is read at the rightmost real token that is not the pad id, as transformers reads it")
    void lastTokensFollowTransformers() {
        int pad = 2;
        int[] ids = {
            5, 6, 7, 2, 2, // ends with EOS = pad: skipped, as transformers' argmax over (ids != pad) skips it
            5, 2, 7, 8, 2, // a pad id inside the sequence does not end it
            5, 6, 7, 8, 9, // full row
            2, 2, 2, 2, 2  // nothing but pad ids: position 0
        };
        TokenBatch batch = new TokenBatch(4, 5, ids, new int[20], new int[] {4, 5, 5, 3}, null);

        assertThat(batch.lastTokens(pad)).containsExactly(2, 5 + 3, 10 + 4, 15);
        assertThat(batch.lastTokens(-1)).as("no pad id: the last real token").containsExactly(3, 9, 14, 17);
    }

    @Test
    @DisplayName("the 1.0 constructor means full rows that stand alone")
    void oldConstructorMeansFullRows() {
        TokenBatch batch = TokenBatch.nextToken(2, 3, new int[] {1, 2, 3, 4, 5, 6});
        assertThat(batch.lengths()).containsExactly(3, 3);
        assertThat(batch.groups()).isNull();
        assertThat(batch.groupCount()).isEqualTo(2);
    }

    @Test
    @DisplayName("groups must tile the rows, and their values must have one entry per group")
    void checksGroups() {
        int[] four = new int[8];
        int[] ones = {2, 2, 2, 2};
        TokenBatch pairs = new TokenBatch(4, 2, four, four, ones,
                new TokenBatch.Groups(2, new int[] {7, 3}, Map.of("margin", new double[] {0.5, Double.NaN})));
        assertThat(pairs.groupCount()).isEqualTo(2);
        assertThat(pairs.groups().value("margin")).containsExactly(0.5, Double.NaN);
        assertThatThrownBy(() -> new TokenBatch(4, 2, four, four, ones, new TokenBatch.Groups(3, new int[] {1}, Map.of())))
                .hasMessageContaining("groups of 3");
        assertThatThrownBy(() -> new TokenBatch.Groups(2, new int[] {1, 2}, Map.of("margin", new double[] {1})))
                .hasMessageContaining("margin");
        assertThatThrownBy(() -> new TokenBatch(4, 2, four, four, new int[] {2, 2, 0, 2}, null))
                .hasMessageContaining("row 2");
    }
}
