package io.gradus.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.world.DefinitionPairs.Kind;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DefinitionPairsTest {

    /** The reward model's pairs. */
    private static DefinitionPairs pairs;
    /** The DPO demo's pairs. */
    private static DefinitionPairs unfinished;
    /** Every definition as a completion, with the parts of speech it defines a word of. */
    private static final Map<String, Set<String>> PARTS = new HashMap<>();

    @BeforeAll
    static void load() throws Exception {
        pairs = DefinitionPairs.load(600, 42);
        unfinished = DefinitionPairs.load(4000, 42, Kind.UNFINISHED); // as the DPO demo draws them
        for (WordNet.Entry e : WordNet.entries()) {
            PARTS.computeIfAbsent(completion(e.definition()), k -> new HashSet<>()).add(e.partOfSpeech());
        }
    }

    private static String completion(String definition) {
        return " " + definition + (definition.endsWith(".") ? "" : ".");
    }

    private static String[] words(Map<String, Object> pair, String field) {
        return ((String) pair.get(field)).strip().split(" ");
    }

    private static String part(Map<String, Object> pair) {
        String prompt = (String) pair.get("prompt");
        return prompt.substring(prompt.lastIndexOf('(') + 1, prompt.length() - 2);
    }

    private static List<Map<String, Object>> ofKind(List<Map<String, Object>> split, Kind kind) {
        return split.stream().filter(p -> DefinitionPairs.kind(p) == kind).toList();
    }

    @Test
    @DisplayName("the reward pairs prefer the word's definition to its own shuffled or another part of speech's, drawn across every part of speech")
    void pairs() throws Exception {
        assertThat(pairs.train()).as("a pair per entry, but for those with no pair to make").hasSizeBetween(400, 600);
        assertThat(pairs.heldOut()).hasSizeBetween(1500, 2500);
        assertThat(pairs.train()).allSatisfy(p -> {
            assertThat(p.keySet()).containsExactlyInAnyOrder("prompt", "chosen", "rejected");
            assertThat(p.get("chosen")).isNotEqualTo(p.get("rejected"));
            assertThat((String) p.get("prompt")).matches("\\S+ \\((noun|verb|adjective|adverb)\\):");
        });
        assertThat(pairs.train().stream().map(DefinitionPairsTest::part).collect(Collectors.toSet()))
                .as("training words of every part of speech, not WordNet's first (nouns)")
                .containsExactlyInAnyOrder("noun", "verb", "adjective", "adverb");
        for (List<Map<String, Object>> split : List.of(pairs.train(), pairs.heldOut().subList(0, 1000))) {
            long shuffled = ofKind(split, Kind.SHUFFLED).size();
            assertThat(shuffled).as("shuffled definitions in one turn of three, the other pairs another part of speech's")
                    .isBetween(split.size() * 3L / 10, split.size() / 2L)
                    .isEqualTo(split.size() - ofKind(split, Kind.OTHER_PART).size());
        }
        assertThat(pairs.heldOut()).filteredOn(p -> ((String) p.get("chosen")).endsWith("etc."))
                .as("a definition that ends with a period gets no second one").isNotEmpty()
                .allSatisfy(p -> assertThat((String) p.get("chosen")).doesNotEndWith(".."));
        assertThat(DefinitionPairs.load(600, 42)).as("deterministic").isEqualTo(pairs);
        assertThat(DefinitionPairs.load(600, 43).train()).as("drawn with the seed").isNotEqualTo(pairs.train());
    }

    @Test
    @DisplayName("no rule that reads less than the words in order, and the prompt, tells chosen from rejected: ends, length, first and last word, style")
    void noShortcut() throws Exception {
        Set<String> heldOutDefinitions = WordNet.entries().stream().filter(WordNet.Entry::heldOut)
                .map(e -> completion(e.definition())).collect(Collectors.toSet());
        for (List<Map<String, Object>> split : List.of(pairs.train(), pairs.heldOut(), unfinished.train(), unfinished.heldOut())) {
            for (Map<String, Object> p : split) {
                for (String field : List.of("chosen", "rejected")) {
                    assertThat((String) p.get(field)).as("%s of %s", field, p).startsWith(" ").endsWith(".");
                }
                String[] chosen = words(p, "chosen");
                String[] rejected = words(p, "rejected");
                if (DefinitionPairs.kind(p) == Kind.SHUFFLED) {
                    assertThat(rejected).as("the same words, in another order").hasSameSizeAs(chosen)
                            .containsExactlyInAnyOrder(chosen).isNotEqualTo(chosen);
                    assertThat(rejected[0]).as("first word").isEqualTo(chosen[0]);
                    assertThat(rejected[rejected.length - 1]).as("last word").isEqualTo(chosen[chosen.length - 1]);
                } else if (DefinitionPairs.kind(p) == Kind.OTHER_PART) {
                    assertThat(rejected).as("as many words").hasSameSizeAs(chosen);
                    assertThat(PARTS.get((String) p.get("rejected"))).as("a definition of another part of speech's word")
                            .isNotEmpty().doesNotContain(part(p));
                }
            }
            // Another part of speech's definitions come in swaps: each is rejected as often as it is chosen.
            List<Map<String, Object>> otherPart = ofKind(split, Kind.OTHER_PART);
            assertThat(otherPart.stream().map(p -> (String) p.get("rejected")).sorted().toList())
                    .as("the rejected texts of another part of speech are the chosen texts of those pairs")
                    .isEqualTo(otherPart.stream().map(p -> (String) p.get("chosen")).sorted().toList());
            int longerChosen = 0;
            int longerRejected = 0;
            for (Map<String, Object> p : ofKind(split, Kind.OTHER_WORD)) {
                longerChosen += words(p, "chosen").length > words(p, "rejected").length ? 1 : 0;
                longerRejected += words(p, "rejected").length > words(p, "chosen").length ? 1 : 0;
            }
            if (longerChosen + longerRejected > 0) {
                assertThat((double) longerChosen / (longerChosen + longerRejected))
                        .as("another word's definition: the chosen one is the longer about half the time").isBetween(0.45, 0.55);
            }
        }
        assertThat(ofKind(pairs.heldOut(), Kind.OTHER_PART)).as("the reward pairs' other part of speech").hasSizeGreaterThan(500);
        assertThat(ofKind(unfinished.heldOut(), Kind.OTHER_WORD)).hasSizeGreaterThan(500)
                .allSatisfy(p -> assertThat(heldOutDefinitions).as("another held-out word's definition")
                        .contains((String) p.get("rejected")));
        assertThat(Arrays.asList(Kind.values())).hasSize(4);
    }

    @Test
    @DisplayName("the DPO demo's pairs: WordNet's first words, their own definition unfinished by one word or another word's")
    void unfinished() throws Exception {
        assertThat(unfinished.train().getFirst().get("chosen")).isEqualTo(completion(WordNet.entries().stream()
                .filter(e -> !e.heldOut() && e.words().getFirst().indexOf(' ') < 0).findFirst().orElseThrow().definition()));
        assertThat(unfinished.heldOut()).hasSizeBetween(2000, 3000);
        for (Map<String, Object> p : unfinished.heldOut()) {
            String[] chosen = words(p, "chosen");
            String[] rejected = words(p, "rejected");
            if (DefinitionPairs.kind(p) == Kind.UNFINISHED) {
                assertThat(chosen.length).isGreaterThanOrEqualTo(4);
                assertThat(String.join(" ", rejected)).as("all words but the last, then a period").isEqualTo(
                        String.join(" ", Arrays.copyOf(chosen, chosen.length - 1)) + ".");
            } else {
                assertThat(DefinitionPairs.kind(p)).isEqualTo(Kind.OTHER_WORD);
                assertThat(PARTS.get((String) p.get("rejected"))).as("of the same part of speech").contains(part(p));
            }
        }
        long kept = ofKind(unfinished.heldOut(), Kind.UNFINISHED).size();
        assertThat(kept).as("unfinished definitions, about half").isBetween(unfinished.heldOut().size() / 3L,
                unfinished.heldOut().size() * 2L / 3);
        assertThat(DefinitionPairs.load(4000, 42, Kind.SHUFFLED).heldOut().size()).as("the same entries make pairs, shuffled")
                .isCloseTo(unfinished.heldOut().size(), within(5));
        assertThat(DefinitionPairs.load(4000, 42, Kind.UNFINISHED)).as("deterministic").isEqualTo(unfinished);
    }
}
