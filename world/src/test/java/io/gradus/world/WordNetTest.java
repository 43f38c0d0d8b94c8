package io.gradus.world;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class WordNetTest {

    @Test
    @DisplayName("a synset line parses into words, definition and examples")
    void parsesALine() {
        WordNet.Entry e = WordNet.parse("09236472 17 n 02 bank 0 bank_side 0 002 @ 09437454 n 0000 | sloping land "
                + "(especially the slope beside a body of water); \"they pulled the canoe up on the bank\"; "
                + "\"he sat on the bank of the river and watched the currents\"  ", "noun");
        assertThat(e.words()).containsExactly("bank", "bank side");
        assertThat(e.definition()).isEqualTo("sloping land (especially the slope beside a body of water)");
        assertThat(e.examples()).containsExactly("they pulled the canoe up on the bank",
                "he sat on the bank of the river and watched the currents");
        assertThat(e.text()).isEqualTo("bank (noun): sloping land (especially the slope beside a body of water). "
                + "Example: they pulled the canoe up on the bank. "
                + "Example: he sat on the bank of the river and watched the currents.");
    }

    @Test
    @DisplayName("the whole of WordNet 3.1 loads, with about 2% of synsets held out")
    void loadsEverything() throws Exception {
        List<WordNet.Entry> entries = WordNet.entries();
        assertThat(entries.size()).isBetween(115_000, 120_000);
        long heldOut = entries.stream().filter(WordNet.Entry::heldOut).count();
        assertThat((double) heldOut / entries.size()).isBetween(0.015, 0.025);
        assertThat(entries).allSatisfy(e -> assertThat(e.definition()).isNotBlank());
    }
}
