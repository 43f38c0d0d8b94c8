package io.gradus.world;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The built-in world's preference pairs, for every alignment technique: a word's WordNet definition
 * is preferred to a worse one, in TRL's standard format {@code {"prompt", "chosen", "rejected"}}, the
 * prompt written as the pre-training documents begin ("bank (noun):"). Held-out pairs come from the
 * held-out synsets, which pre-training never saw either.
 *
 * <p>The reward model's pairs ({@link #load(int, long)}) reject, in turn, the word's own definition
 * with its inner words shuffled or the definition of a word of another part of speech with as many
 * words. Only reading the words in order, and the prompt, tells the two apart: both texts start with a
 * space and end with a period; a shuffled definition keeps the chosen one's words, length, first word
 * and last word; another part of speech's definitions come in swaps, two entries each rejecting the
 * other's definition, so each such text is rejected as often as it is chosen and its style says
 * nothing without the prompt's word class. (A definition cut short, the first version's other kind, is
 * always shorter than the whole one, and it lacked the final period: a model learnt the period instead
 * of the definition. Another word's definition of the same part of speech, the second version's, is
 * what no model of this size can know of an unseen word.)
 *
 * <p>The DPO demo's pairs ({@link #load(int, long, Kind)} with {@link Kind#UNFINISHED}) reject, in
 * turn, another word's definition of the same part of speech (from the same split, so as often longer
 * as shorter) or the word's own definition without its last word, closed with a period too: a policy
 * that scores a text by its summed log-probability prefers the shorter one, so there length works
 * against the chosen definition, not for it, and nothing but the missing word tells the two apart.
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
        UNFINISHED,
        /**
         * The definition of a word of another part of speech, of as many words, whose own pair rejects this
         * word's definition in turn.
         */
        OTHER_PART
    }

    /**
     * Definitions of fewer words have too few inner words to shuffle (and are not cut, as the shuffled
     * ones' stand-ins): their entries make no pair in such a turn.
     */
    private static final int OWN_MIN_WORDS = 4;

    /**
     * The reward model's pairs: at most {@code maxTrain} training pairs from single-word entries drawn
     * with {@code seed} across every part of speech, every held-out one, rejecting in turn the word's own
     * definition shuffled, another word's, or one of another part of speech; the same for the same seed.
     */
    public static DefinitionPairs load(int maxTrain, long seed) throws IOException {
        List<WordNet.Entry> entries = WordNet.entries();
        List<WordNet.Entry> train = new ArrayList<>(entries.stream().filter(e -> !e.heldOut() && singleWord(e)).toList());
        Collections.shuffle(train, new Random(seed));
        // Held-out entries in a drawn order too: the first of them (what a demo measures) span every
        // part of speech, and so every kind of pair (another part's pairs form as the parts meet).
        List<WordNet.Entry> heldOut = new ArrayList<>(entries.stream().filter(WordNet.Entry::heldOut).toList());
        Collections.shuffle(heldOut, new Random(seed + 1));
        // Another part of speech in two turns of three (a third of them find no partner): the kind a small
        // model learns, whose pairs lead it out of the start where every sequence scores alike (DESIGN.md).
        List<Kind> turns = List.of(Kind.OTHER_PART, Kind.SHUFFLED, Kind.OTHER_PART);
        return new DefinitionPairs(pairs(train.subList(0, Math.min(maxTrain, train.size())), seed, turns),
                pairs(heldOut, seed + 1, turns));
    }

    /**
     * The DPO demo's pairs: at most {@code maxTrain} training pairs from the first single-word entries in
     * WordNet's order, every held-out one, rejecting in turn the word's own definition as {@code own}
     * makes it ({@link Kind#SHUFFLED} or {@link Kind#UNFINISHED}) or another word's.
     */
    public static DefinitionPairs load(int maxTrain, long seed, Kind own) throws IOException {
        if (own != Kind.SHUFFLED && own != Kind.UNFINISHED) {
            throw new IllegalArgumentException("the word's own definition is rejected shuffled or unfinished, not " + own);
        }
        List<WordNet.Entry> train = new ArrayList<>();
        List<WordNet.Entry> heldOut = new ArrayList<>();
        for (WordNet.Entry e : WordNet.entries()) {
            if (e.heldOut()) {
                heldOut.add(e);
            } else if (train.size() < maxTrain && singleWord(e)) {
                train.add(e);
            }
        }
        List<Kind> turns = List.of(own, Kind.OTHER_WORD);
        return new DefinitionPairs(pairs(train, seed, turns), pairs(heldOut, seed + 1, turns));
    }

    private static boolean singleWord(WordNet.Entry e) {
        return e.words().getFirst().indexOf(' ') < 0;
    }

    /**
     * The kind of a pair of this class: a shuffled definition has the chosen one's words, an unfinished
     * one all of them but the last, in order, another word's neither; another part of speech's is no
     * definition of a word of the prompt's part of speech.
     */
    public static Kind kind(Map<String, Object> pair) {
        String chosen = (String) pair.get("chosen");
        String rejected = (String) pair.get("rejected");
        if (Arrays.equals(sortedWords(chosen), sortedWords(rejected))) {
            return Kind.SHUFFLED;
        }
        String[] chosenWords = chosen.strip().split(" ");
        String[] rejectedWords = rejected.strip().split(" ");
        int last = rejectedWords.length - 1;
        if (last == chosenWords.length - 2 && Arrays.equals(rejectedWords, 0, last, chosenWords, 0, last)
                && rejectedWords[last].equals(closed(chosenWords[last]).strip())) {
            return Kind.UNFINISHED; // ("... (as e.g. Easter)." unfinished is "... (as e.g.", no second period)
        }
        String prompt = (String) pair.get("prompt");
        String part = prompt.substring(prompt.lastIndexOf('(') + 1, prompt.lastIndexOf(')'));
        return PartsOfDefinitions.BY_TEXT.getOrDefault(rejected, Set.of()).contains(part) ? Kind.OTHER_WORD : Kind.OTHER_PART;
    }

    /** Every completion text of a definition, with the parts of speech it defines a word of (read once). */
    private static final class PartsOfDefinitions {
        static final Map<String, Set<String>> BY_TEXT = read();

        private static Map<String, Set<String>> read() {
            Map<String, Set<String>> byText = new HashMap<>();
            try {
                WordNet.entries().forEach(e -> byText.computeIfAbsent(closed(e.definition()), k -> new HashSet<>()).add(e.partOfSpeech()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return byText;
        }
    }

    private static String[] sortedWords(String text) {
        String[] words = text.strip().split(" ");
        Arrays.sort(words);
        return words;
    }

    /**
     * One pair per entry but those with no pair to make; the kind of rejected definition in turn as
     * {@code turns} lists them; another word's definition drawn from the same entries; another part of
     * speech's from an entry of this kind met earlier with as many words, whose pair rejects this one's.
     */
    private static List<Map<String, Object>> pairs(List<WordNet.Entry> entries, long seed, List<Kind> turns) {
        Map<String, List<WordNet.Entry>> byPart = new HashMap<>();
        entries.forEach(e -> byPart.computeIfAbsent(e.partOfSpeech(), k -> new ArrayList<>()).add(e));
        Map<Integer, List<WordNet.Entry>> unpaired = new HashMap<>(); // other-part entries waiting, by number of words
        Random random = new Random(seed);
        List<Map<String, Object>> pairs = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            WordNet.Entry e = entries.get(i);
            switch (turns.get(i % turns.size())) {
                case SHUFFLED, UNFINISHED -> {
                    String rejected = turns.get(i % turns.size()) == Kind.SHUFFLED ? shuffled(e.definition(), random)
                            : unfinished(e.definition());
                    // Too short: no pair. Not another word's definition instead: those pairs would then hold
                    // more short chosen definitions than rejected ones, and length would tell them apart.
                    if (rejected != null) {
                        pairs.add(pair(e, rejected));
                    }
                }
                case OTHER_WORD -> {
                    List<WordNet.Entry> same = byPart.get(e.partOfSpeech());
                    String other = e.definition();
                    for (int attempt = 0; attempt < 10 && other.equals(e.definition()); attempt++) {
                        other = same.get(random.nextInt(same.size())).definition();
                    }
                    if (!other.equals(e.definition())) { // else a part of speech with one definition only
                        pairs.add(pair(e, other));
                    }
                }
                case OTHER_PART -> {
                    // In swaps, so that every definition of this kind is rejected as often as it is chosen and
                    // only the prompt's part of speech tells which: its style alone (a verb's "move fast", a
                    // noun's "a large stream") says nothing, nor its length, the two having as many words.
                    List<WordNet.Entry> waiting = unpaired.computeIfAbsent(e.definition().split(" ").length, n -> new ArrayList<>());
                    int partner = 0;
                    while (partner < waiting.size() && (waiting.get(partner).partOfSpeech().equals(e.partOfSpeech())
                            || waiting.get(partner).definition().equals(e.definition()))) {
                        partner++;
                    }
                    if (partner == waiting.size()) {
                        waiting.add(e);
                    } else {
                        WordNet.Entry other = waiting.remove(partner);
                        pairs.add(pair(other, e.definition()));
                        pairs.add(pair(e, other.definition()));
                    }
                }
            }
        }
        return pairs;
    }

    private static Map<String, Object> pair(WordNet.Entry e, String rejected) {
        return Map.of("prompt", e.words().getFirst() + " (" + e.partOfSpeech() + "):", "chosen", closed(e.definition()),
                "rejected", closed(rejected));
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
