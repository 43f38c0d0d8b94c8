package io.gradus.world;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DefinitionPairsTest {

    @Test
    @DisplayName("pairs prefer the word's definition to another word's or a cut one; held-out pairs from held-out synsets")
    void pairs() throws Exception {
        DefinitionPairs pairs = DefinitionPairs.load(500, 42);

        assertThat(pairs.train()).hasSize(500);
        assertThat(pairs.heldOut()).hasSizeBetween(2000, 3000);
        assertThat(pairs.train()).allSatisfy(p -> {
            assertThat(p.keySet()).containsExactlyInAnyOrder("prompt", "chosen", "rejected");
            assertThat(p.get("chosen")).isNotEqualTo(p.get("rejected"));
            assertThat((String) p.get("prompt")).matches("\\S+ \\((noun|verb|adjective|adverb)\\):");
        });
        long cut = pairs.train().stream().filter(p -> ((String) p.get("chosen")).startsWith((String) p.get("rejected"))).count();
        assertThat(cut).as("cut definitions, about half").isBetween(150L, 300L);
        Map<String, Object> first = pairs.train().getFirst();
        assertThat(first.get("chosen")).isEqualTo(" " + WordNet.entries().stream().filter(e -> !e.heldOut()
                && e.words().getFirst().indexOf(' ') < 0).findFirst().orElseThrow().definition() + ".");
        assertThat(DefinitionPairs.load(500, 42)).as("deterministic").isEqualTo(pairs);
        assertThat(pairs.train().stream().filter(DefinitionPairs::rejectsCut).count()).isEqualTo(cut);
    }

    @Test
    @DisplayName("cut before the last word: the same pairs, the cut ones one word short and closed with a period")
    void lastWordCut() throws Exception {
        DefinitionPairs half = DefinitionPairs.load(500, 42);
        DefinitionPairs last = DefinitionPairs.load(500, 42, DefinitionPairs.Cut.LAST_WORD);

        assertThat(last.heldOut()).hasSameSizeAs(half.heldOut());
        int cut = 0;
        for (int i = 0; i < half.heldOut().size(); i++) {
            Map<String, Object> h = half.heldOut().get(i);
            Map<String, Object> l = last.heldOut().get(i);
            assertThat(l.get("prompt")).isEqualTo(h.get("prompt"));
            assertThat(l.get("chosen")).isEqualTo(h.get("chosen"));
            assertThat(DefinitionPairs.rejectsCut(l)).as("pair %d", i).isEqualTo(DefinitionPairs.rejectsCut(h));
            String chosen = (String) l.get("chosen");
            if (DefinitionPairs.rejectsCut(l)) {
                cut++;
                assertThat(l.get("rejected")).isEqualTo(chosen.substring(0, chosen.lastIndexOf(' ')) + ".");
            } else {
                assertThat(l.get("rejected")).isEqualTo(h.get("rejected"));
            }
        }
        assertThat(cut).as("cut definitions, about half").isBetween(half.heldOut().size() / 3, half.heldOut().size() * 2 / 3);
    }
}
