package io.gradus.world;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The built-in world's preference pairs, for every alignment technique: a word's WordNet definition
 * is preferred to a worse one, in TRL's standard format {@code {"prompt", "chosen", "rejected"}}, the
 * prompt written as the pre-training documents begin ("bank (noun):"). The rejected definition is, in
 * turn, another word's definition of the same part of speech (from the same split) or the definition
 * cut short ({@link Cut}). Held-out pairs come from the held-out synsets, which pre-training never saw
 * either.
 *
 * @param train training pairs (single-word entries, at most the number asked for)
 * @param heldOut held-out pairs, one per held-out synset
 */
public record DefinitionPairs(List<Map<String, Object>> train, List<Map<String, Object>> heldOut) {

    /** Definitions of fewer words are not cut: they get another word's definition instead. */
    private static final int CUT_MIN_WORDS = 4;

    /** How a rejected definition is cut short. */
    public enum Cut {
        /** After half its words, with no closing period (the reward model's pairs). */
        HALF,
        /**
         * Before its last word, closed with a period as the chosen one is: an unfinished definition that
         * ends as a finished one does, one word shorter (the DPO demo's pairs: a model that prefers
         * the shorter text, as summed log-probabilities do, prefers it).
         */
        LAST_WORD
    }

    /** At most {@code maxTrain} training pairs in WordNet's order, every held-out one, cut in half; the same for the same seed. */
    public static DefinitionPairs load(int maxTrain, long seed) throws IOException {
        return load(maxTrain, seed, Cut.HALF);
    }

    /** As {@link #load(int, long)}, the definitions cut as {@code cut} says. */
    public static DefinitionPairs load(int maxTrain, long seed, Cut cut) throws IOException {
        List<WordNet.Entry> train = new ArrayList<>();
        List<WordNet.Entry> heldOut = new ArrayList<>();
        for (WordNet.Entry e : WordNet.entries()) {
            if (e.heldOut()) {
                heldOut.add(e);
            } else if (train.size() < maxTrain && e.words().getFirst().indexOf(' ') < 0) {
                train.add(e);
            }
        }
        return new DefinitionPairs(pairs(train, seed, cut), pairs(heldOut, seed + 1, cut));
    }

    /**
     * Whether a pair's rejected definition is its chosen one cut short: its words, less a closing
     * period, begin the chosen one's. (Another word's definition that happens to begin this one's
     * counts as cut: it is one.)
     */
    public static boolean rejectsCut(Map<String, Object> pair) {
        String rejected = (String) pair.get("rejected");
        return ((String) pair.get("chosen")).startsWith(rejected.endsWith(".") ? rejected.substring(0, rejected.length() - 1)
                : rejected);
    }

    /** One pair per entry; the rejected definition drawn from the same entries. */
    private static List<Map<String, Object>> pairs(List<WordNet.Entry> entries, long seed, Cut cut) {
        Map<String, List<WordNet.Entry>> byPart = new HashMap<>();
        entries.forEach(e -> byPart.computeIfAbsent(e.partOfSpeech(), k -> new ArrayList<>()).add(e));
        Random random = new Random(seed);
        List<Map<String, Object>> pairs = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            WordNet.Entry e = entries.get(i);
            String[] words = e.definition().split(" ");
            String rejected;
            if (i % 2 == 0 && words.length >= CUT_MIN_WORDS) {
                rejected = switch (cut) {
                    case HALF -> " " + String.join(" ", Arrays.copyOf(words, words.length / 2));
                    case LAST_WORD -> " " + String.join(" ", Arrays.copyOf(words, words.length - 1)) + ".";
                };
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
