package io.gradus.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.core.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Whether two model folders share a vocabulary: the same token for every id, by their
 * {@code tokenizer.json} ({@code model.vocab}, a token → id object for BPE, WordPiece and WordLevel
 * or a list of [token, score] for Unigram, and {@code added_tokens}). A frozen model a job loads
 * beside the one it trains (DPO's reference, PPO's reward model) reads the job's token ids, which
 * mean nothing to a model with another vocabulary. Folders without {@code tokenizer.json}
 * (pre-tokenized data) are not compared here; their vocabulary sizes are.
 */
final class Vocabularies {

    private Vocabularies() {}

    /**
     * @throws IOException "has another vocabulary than ..." naming a token whose id differs
     */
    static void requireSame(Path other, Path job) throws IOException {
        Path theirs = other.resolve("tokenizer.json");
        Path ours = job.resolve("tokenizer.json");
        if (!Files.isRegularFile(theirs) || !Files.isRegularFile(ours) || Files.mismatch(theirs, ours) == -1) {
            return;
        }
        Map<String, Integer> mine = tokens(ours);
        Map<String, Integer> others = tokens(theirs);
        for (var token : mine.entrySet()) {
            Integer id = others.get(token.getKey());
            if (!token.getValue().equals(id)) {
                throw new IOException("has another vocabulary than the job's model " + job + ": token '" + token.getKey()
                        + "' is " + (id == null ? "not in it" : "id " + id + " there") + ", id " + token.getValue() + " in "
                        + ours);
            }
        }
        if (others.size() != mine.size()) {
            throw new IOException("has another vocabulary than the job's model " + job + ": " + others.size() + " tokens in "
                    + theirs + ", " + mine.size() + " in " + ours);
        }
    }

    /** Every token of a tokenizer.json with its id. */
    private static Map<String, Integer> tokens(Path file) throws IOException {
        JsonNode root = JsonFiles.readObject(file);
        Map<String, Integer> tokens = new HashMap<>();
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            vocab.properties().forEach(e -> tokens.put(e.getKey(), e.getValue().asInt()));
        } else if (vocab.isArray()) {
            for (int id = 0; id < vocab.size(); id++) {
                tokens.put(vocab.get(id).path(0).asText(), id);
            }
        }
        for (JsonNode added : root.path("added_tokens")) {
            tokens.put(added.path("content").asText(), added.path("id").asInt());
        }
        return tokens;
    }
}
