package io.gradus.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DefinitionPairsTest {

    private static DefinitionPairs pairs;

    @BeforeAll
    static void load() throws Exception {
        pairs = DefinitionPairs.load(500, 42);
    }

    private static String[] words(Map<String, Object> pair, String field) {
        return ((String) pair.get(field)).strip().split(" ");
    }

    @Test
    @DisplayName("pairs prefer the word's definition to another word's or a shuffled one; held-out pairs from held-out synsets")
    void pairs() throws Exception {
        assertThat(pairs.train()).as("a pair per entry, but for definitions too short to shuffle").hasSizeBetween(450, 500);
        assertThat(pairs.heldOut()).hasSizeBetween(2000, 3000);
        assertThat(pairs.train()).allSatisfy(p -> {
            assertThat(p.keySet()).containsExactlyInAnyOrder("prompt", "chosen", "rejected");
            assertThat(p.get("chosen")).isNotEqualTo(p.get("rejected"));
            assertThat((String) p.get("prompt")).matches("\\S+ \\((noun|verb|adjective|adverb)\\):");
        });
        long shuffled = pairs.train().stream().filter(p -> DefinitionPairs.kind(p) == DefinitionPairs.Kind.SHUFFLED).count();
        assertThat(shuffled).as("shuffled definitions, about half").isBetween(150L, 300L);
        Map<String, Object> first = pairs.train().getFirst();
        assertThat(first.get("chosen")).isEqualTo(" " + WordNet.entries().stream().filter(e -> !e.heldOut()
                && e.words().getFirst().indexOf(' ') < 0).findFirst().orElseThrow().definition() + ".");
        assertThat(pairs.train()).filteredOn(p -> ((String) p.get("chosen")).endsWith("etc."))
                .as("a definition that ends with a period gets no second one").isNotEmpty();
        assertThat(DefinitionPairs.load(500, 42)).as("deterministic").isEqualTo(pairs);
    }

    @Test
    @DisplayName("no rule that reads less than the words in order tells chosen from rejected: ends, length, first and last word")
    void noShortcut() throws Exception {
        Set<String> heldOutDefinitions = WordNet.entries().stream().filter(WordNet.Entry::heldOut)
                .map(e -> " " + e.definition() + (e.definition().endsWith(".") ? "" : ".")).collect(Collectors.toSet());
        for (List<Map<String, Object>> split : List.of(pairs.train(), pairs.heldOut())) {
            int longerChosen = 0;
            int longerRejected = 0;
            for (Map<String, Object> p : split) {
                for (String field : List.of("chosen", "rejected")) {
                    assertThat((String) p.get(field)).as("%s of %s", field, p).startsWith(" ").endsWith(".");
                }
                String[] chosen = words(p, "chosen");
                String[] rejected = words(p, "rejected");
                if (DefinitionPairs.kind(p) == DefinitionPairs.Kind.SHUFFLED) {
                    assertThat(rejected).as("the same words, in another order").hasSameSizeAs(chosen)
                            .containsExactlyInAnyOrder(chosen).isNotEqualTo(chosen);
                    assertThat(rejected[0]).as("first word").isEqualTo(chosen[0]);
                    assertThat(rejected[rejected.length - 1]).as("last word").isEqualTo(chosen[chosen.length - 1]);
                } else {
                    longerChosen += chosen.length > rejected.length ? 1 : 0;
                    longerRejected += rejected.length > chosen.length ? 1 : 0;
                }
            }
            double shareLonger = (double) longerChosen / (longerChosen + longerRejected);
            assertThat(shareLonger).as("another word's definition: the chosen one is the longer about half the time")
                    .isBetween(0.45, 0.55);
        }
        assertThat(pairs.heldOut()).filteredOn(p -> DefinitionPairs.kind(p) == DefinitionPairs.Kind.OTHER_WORD)
                .allSatisfy(p -> assertThat(heldOutDefinitions).as("another held-out word's definition")
                        .contains((String) p.get("rejected")));
        assertThat(Arrays.asList(DefinitionPairs.Kind.values())).hasSize(3);
    }

    @Test
    @DisplayName("the DPO demo's pairs: the same chosen definitions, the word's own unfinished by one word in place of shuffled")
    void unfinished() throws Exception {
        DefinitionPairs unfinished = DefinitionPairs.load(500, 42, DefinitionPairs.Kind.UNFINISHED);

        // The same entries make pairs (the rare one whose inner words cannot be shuffled aside).
        assertThat(unfinished.heldOut().size()).isCloseTo(pairs.heldOut().size(), within(5));
        assertThat(unfinished.train().getFirst().get("chosen")).isEqualTo(pairs.train().getFirst().get("chosen"));
        for (Map<String, Object> p : unfinished.heldOut()) {
            assertThat((String) p.get("rejected")).startsWith(" ").endsWith(".");
            String[] chosen = words(p, "chosen");
            String[] rejected = words(p, "rejected");
            if (DefinitionPairs.kind(p) == DefinitionPairs.Kind.UNFINISHED) {
                assertThat(chosen.length).isGreaterThanOrEqualTo(4);
                assertThat(String.join(" ", rejected)).as("all words but the last, then a period").isEqualTo(
                        String.join(" ", Arrays.copyOf(chosen, chosen.length - 1)) + ".");
            } else {
                assertThat(DefinitionPairs.kind(p)).isEqualTo(DefinitionPairs.Kind.OTHER_WORD);
            }
        }
        long kept = unfinished.heldOut().stream().filter(p -> DefinitionPairs.kind(p) == DefinitionPairs.Kind.UNFINISHED).count();
        assertThat(kept).as("unfinished definitions, about half").isBetween(unfinished.heldOut().size() / 3L,
                unfinished.heldOut().size() * 2L / 3);
        assertThat(DefinitionPairs.load(500, 42, DefinitionPairs.Kind.UNFINISHED)).as("deterministic").isEqualTo(unfinished);
    }
}
