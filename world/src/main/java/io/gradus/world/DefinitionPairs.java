package io.gradus.world;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The built-in world's preference pairs, for every alignment technique: a word's WordNet definition
 * is preferred to a worse one, in TRL's standard format {@code {"prompt", "chosen", "rejected"}}, the
 * prompt written as the pre-training documents begin ("bank (noun):"). The rejected definition is, in
 * turn, another word's definition of the same part of speech (from the same split) or the word's own
 * definition with its inner words shuffled. Held-out pairs come from the held-out synsets, which
 * pre-training never saw either.
 *
 * <p>Only reading the words in order tells the two apart: both texts start with a space and end with
 * a period; a shuffled definition keeps the chosen one's words, length, first word and last word;
 * another word's definition comes from the same pool as the chosen ones, so it is as often longer as
 * shorter. (A definition cut short, the first version's other kind, is always shorter than the whole
 * one, and it lacked the final period: a model learnt the period instead of the definition.)
 *
 * @param train training pairs (from single-word entries, at most one per entry of the number asked for)
 * @param heldOut held-out pairs, at most one per held-out synset
 */
public record DefinitionPairs(List<Map<String, Object>> train, List<Map<String, Object>> heldOut) {

    /** What the rejected definition of a pair is. */
    public enum Kind {
        /** Another word's definition, of the same part of speech. */
        OTHER_WORD,
        /** The word's own definition with its inner words shuffled. */
        SHUFFLED
    }

    /** Definitions of fewer words have too few inner words to shuffle: their entries make no pair in a shuffling turn. */
    private static final int SHUFFLE_MIN_WORDS = 4;

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

    /** The kind of a pair of this class: a shuffled definition has the chosen one's words, another word's has not. */
    public static Kind kind(Map<String, Object> pair) {
        return Arrays.equals(sortedWords((String) pair.get("chosen")), sortedWords((String) pair.get("rejected")))
                ? Kind.SHUFFLED : Kind.OTHER_WORD;
    }

    private static String[] sortedWords(String text) {
        String[] words = text.strip().split(" ");
        Arrays.sort(words);
        return words;
    }

    /** One pair per entry; the rejected definition drawn from the same entries, or shuffled from its own. */
    private static List<Map<String, Object>> pairs(List<WordNet.Entry> entries, long seed) {
        Map<String, List<WordNet.Entry>> byPart = new HashMap<>();
        entries.forEach(e -> byPart.computeIfAbsent(e.partOfSpeech(), k -> new ArrayList<>()).add(e));
        Random random = new Random(seed);
        List<Map<String, Object>> pairs = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            WordNet.Entry e = entries.get(i);
            String rejected;
            if (i % 2 == 0) {
                rejected = shuffled(e.definition(), random);
                if (rejected == null) {
                    // Too short to shuffle. Not another word's definition instead: those pairs would then
                    // hold more short chosen definitions than rejected ones, and length would tell them apart.
                    continue;
                }
            } else {
                List<WordNet.Entry> same = byPart.get(e.partOfSpeech());
                String other = e.definition();
                for (int attempt = 0; attempt < 10 && other.equals(e.definition()); attempt++) {
                    other = same.get(random.nextInt(same.size())).definition();
                }
                if (other.equals(e.definition())) {
                    continue; // a part of speech with one definition only: no pair to make
                }
                rejected = other;
            }
            pairs.add(Map.of("prompt", e.words().getFirst() + " (" + e.partOfSpeech() + "):",
                    "chosen", closed(e.definition()), "rejected", closed(rejected)));
        }
        return pairs;
    }

    /** The definition as a completion: after a space, ending with one period ("etc." gets no second one). */
    private static String closed(String definition) {
        return " " + definition + (definition.endsWith(".") ? "" : ".");
    }

    /**
     * The definition with the words between its first and last in another order, or null when it has
     * too few words or no other order (its inner words all alike).
     */
    private static String shuffled(String definition, Random random) {
        String[] words = definition.split(" ");
        if (words.length < SHUFFLE_MIN_WORDS) {
            return null;
        }
        String[] inner = Arrays.copyOfRange(words, 1, words.length - 1);
        for (int attempt = 0; attempt < 10; attempt++) {
            List<String> order = new ArrayList<>(List.of(inner));
            Collections.shuffle(order, random);
            if (!order.equals(List.of(inner))) {
                return words[0] + " " + String.join(" ", order) + " " + words[words.length - 1];
            }
        }
        return null;
    }
}
