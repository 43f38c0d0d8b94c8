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
 * <p>The DPO demo's pairs ({@link #load(int, long, Kind)} with {@link Kind#UNFINISHED}) put the word's
 * own definition without its last word, closed with a period too, in the shuffled one's place: a
 * policy that scores a text by its summed log-probability prefers the shorter one, so there length
 * works against the chosen definition, not for it, and nothing but the missing word tells the two
 * apart.
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
        SHUFFLED,
        /** The word's own definition without its last word, closed with a period as the whole one is. */
        UNFINISHED
    }

    /**
     * Definitions of fewer words have too few inner words to shuffle (and are not cut, as the shuffled
     * ones' stand-ins): their entries make no pair in such a turn.
     */
    private static final int OWN_MIN_WORDS = 4;

    /**
     * At most {@code maxTrain} training pairs in WordNet's order, every held-out one, rejecting another
     * word's definition or the word's own shuffled; the same for the same seed.
     */
    public static DefinitionPairs load(int maxTrain, long seed) throws IOException {
        return load(maxTrain, seed, Kind.SHUFFLED);
    }

    /**
     * As {@link #load(int, long)}, the turns that reject the word's own definition rejecting it as
     * {@code own} makes it ({@link Kind#SHUFFLED} or {@link Kind#UNFINISHED}).
     */
    public static DefinitionPairs load(int maxTrain, long seed, Kind own) throws IOException {
        if (own == Kind.OTHER_WORD) {
            throw new IllegalArgumentException("the word's own definition is rejected shuffled or unfinished, not " + own);
        }
        List<WordNet.Entry> train = new ArrayList<>();
        List<WordNet.Entry> heldOut = new ArrayList<>();
        for (WordNet.Entry e : WordNet.entries()) {
            if (e.heldOut()) {
                heldOut.add(e);
            } else if (train.size() < maxTrain && e.words().getFirst().indexOf(' ') < 0) {
                train.add(e);
            }
        }
        return new DefinitionPairs(pairs(train, seed, own), pairs(heldOut, seed + 1, own));
    }

    /**
     * The kind of a pair of this class: a shuffled definition has the chosen one's words, an unfinished
     * one all of them but the last, in order, another word's neither.
     */
    public static Kind kind(Map<String, Object> pair) {
        String chosen = (String) pair.get("chosen");
        String rejected = (String) pair.get("rejected");
        if (Arrays.equals(sortedWords(chosen), sortedWords(rejected))) {
            return Kind.SHUFFLED;
        }
        String open = rejected.substring(0, rejected.length() - 1);
        return chosen.startsWith(open + " ") && chosen.indexOf(' ', open.length() + 1) < 0 ? Kind.UNFINISHED : Kind.OTHER_WORD;
    }

    private static String[] sortedWords(String text) {
        String[] words = text.strip().split(" ");
        Arrays.sort(words);
        return words;
    }

    /** One pair per entry; the rejected definition drawn from the same entries, or made from its own as {@code own} says. */
    private static List<Map<String, Object>> pairs(List<WordNet.Entry> entries, long seed, Kind own) {
        Map<String, List<WordNet.Entry>> byPart = new HashMap<>();
        entries.forEach(e -> byPart.computeIfAbsent(e.partOfSpeech(), k -> new ArrayList<>()).add(e));
        Random random = new Random(seed);
        List<Map<String, Object>> pairs = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            WordNet.Entry e = entries.get(i);
            String rejected;
            if (i % 2 == 0) {
                rejected = own == Kind.SHUFFLED ? shuffled(e.definition(), random) : unfinished(e.definition());
                if (rejected == null) {
                    // Too short. Not another word's definition instead: those pairs would then hold more
                    // short chosen definitions than rejected ones, and length would tell them apart.
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
        if (words.length < OWN_MIN_WORDS) {
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

    /** The definition without its last word, or null when it has too few words. */
    private static String unfinished(String definition) {
        int last = definition.lastIndexOf(' ');
        return definition.split(" ").length < OWN_MIN_WORDS ? null : definition.substring(0, last);
    }
}
