package io.gradus.world;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The built-in world's preference pairs, for every alignment technique: a word's WordNet definition
 * is preferred to a worse one, in TRL's standard format {@code {"prompt", "chosen", "rejected"}}, the
 * prompt written as the pre-training documents begin ("bank (noun):"). The rejected definition is, in
 * turn, another word's definition of the same part of speech (from the same split) or the definition
 * cut off after half its words. Held-out pairs come from the held-out synsets, which pre-training
 * never saw either.
 *
 * @param train training pairs (single-word entries, at most the number asked for)
 * @param heldOut held-out pairs, one per held-out synset
 */
public record DefinitionPairs(List<Map<String, Object>> train, List<Map<String, Object>> heldOut) {

    /** Definitions of fewer words are not cut: they get another word's definition instead. */
    private static final int CUT_MIN_WORDS = 4;

    /** At most {@code maxTrain} training pairs in WordNet's order, every held-out one; the same for the same seed. */
    public static DefinitionPairs load(int maxTrain, long seed) throws IOException {
        List<WordNet.Entry> train = new ArrayList<>();
        List<WordNet.Entry> heldOut = new ArrayList<>();
        for (WordNet.Entry e : WordNet.entries()) {
            if (e.heldOut()) {
                heldOut.add(e);
            } else if (train.size() < maxTrain && e.words().getFirst().indexOf(' ') < 0) {
                train.add(e);
            }
        }
        return new DefinitionPairs(pairs(train, seed), pairs(heldOut, seed + 1));
    }

    /** One pair per entry; the rejected definition drawn from the same entries. */
    private static List<Map<String, Object>> pairs(List<WordNet.Entry> entries, long seed) {
        Map<String, List<WordNet.Entry>> byPart = new HashMap<>();
        entries.forEach(e -> byPart.computeIfAbsent(e.partOfSpeech(), k -> new ArrayList<>()).add(e));
        Random random = new Random(seed);
        List<Map<String, Object>> pairs = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            WordNet.Entry e = entries.get(i);
            String[] words = e.definition().split(" ");
            String rejected;
            if (i % 2 == 0 && words.length >= CUT_MIN_WORDS) {
                rejected = " " + String.join(" ", java.util.Arrays.copyOf(words, words.length / 2));
            } else {
                List<WordNet.Entry> same = byPart.get(e.partOfSpeech());
                String other = e.definition();
                for (int attempt = 0; attempt < 10 && other.equals(e.definition()); attempt++) {
                    other = same.get(random.nextInt(same.size())).definition();
                }
                if (other.equals(e.definition())) {
                    continue; // a part of speech with one definition only: no pair to make
                }
                rejected = " " + other + ".";
            }
            pairs.add(Map.of("prompt", e.words().getFirst() + " (" + e.partOfSpeech() + "):",
                    "chosen", " " + e.definition() + ".", "rejected", rejected));
        }
        return pairs;
    }
}
