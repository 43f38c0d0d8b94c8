package io.gradus.world;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The built-in world's fine-tuning task: "What does the word 'X' mean (noun)?" answered with
 * WordNet's definition, as chat records ({@code {"messages": [user, assistant]}}) that the
 * {@code sft} objective reads. Held-out questions come from the held-out synsets, which
 * pre-training never saw either.
 *
 * @param train training records (single-word entries, at most the number asked for)
 * @param heldOut held-out records, every held-out synset
 */
public record DefinitionTask(List<Map<String, Object>> train, List<Map<String, Object>> heldOut) {

    /** At most {@code maxTrain} training questions, in WordNet's order, and every held-out one. */
    public static DefinitionTask load(int maxTrain) throws IOException {
        List<Map<String, Object>> train = new ArrayList<>();
        List<Map<String, Object>> heldOut = new ArrayList<>();
        for (WordNet.Entry e : WordNet.entries()) {
            var record = question(e);
            if (e.heldOut()) {
                heldOut.add(record);
            } else if (train.size() < maxTrain && e.words().getFirst().indexOf(' ') < 0) {
                train.add(record);
            }
        }
        return new DefinitionTask(train, heldOut);
    }

    /** "What does the word 'bank' mean (noun)?" → its WordNet definition, as a chat record. */
    public static Map<String, Object> question(WordNet.Entry e) {
        return Map.of("messages", List.of(Map.of("role", "user", "content", questionText(e)),
                Map.of("role", "assistant", "content", e.definition())));
    }

    private static final String QUESTION_START = "What does the word '";
    private static final String QUESTION_PART_OF_SPEECH = "' mean (";

    /** The user's question about {@code e}. */
    public static String questionText(WordNet.Entry e) {
        return questionText(e.words().getFirst(), e.partOfSpeech());
    }

    /** The user's question about {@code word} as {@code partOfSpeech} ("noun", "verb", "adjective", "adverb"). */
    public static String questionText(String word, String partOfSpeech) {
        return QUESTION_START + word + QUESTION_PART_OF_SPEECH + partOfSpeech + ")?";
    }

    /** The word a chat record made by {@link #question} asks about (which may hold an apostrophe itself). */
    public static String word(Map<String, Object> record) {
        String question = userText(record);
        return question.substring(QUESTION_START.length(), question.lastIndexOf(QUESTION_PART_OF_SPEECH));
    }

    /** The user's question of a chat record made by {@link #question}. */
    @SuppressWarnings("unchecked")
    public static String userText(Map<String, Object> record) {
        return ((List<Map<String, String>>) record.get("messages")).get(0).get("content");
    }

    /** The expected answer of a chat record made by {@link #question}. */
    @SuppressWarnings("unchecked")
    public static String answerText(Map<String, Object> record) {
        return ((List<Map<String, String>>) record.get("messages")).get(1).get("content");
    }

    /** Writes records as JSON lines. */
    public static void writeJsonl(Path file, List<? extends Map<String, ?>> records) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (var record : records) {
                out.write(json.writeValueAsString(record));
                out.newLine();
            }
        }
    }
}
