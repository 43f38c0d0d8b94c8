package io.gradus.core.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a byte-level BPE tokenizer (Sennrich et al. 2016, in GPT-2's byte-level form) and writes it
 * as an ordinary Hugging Face {@code tokenizer.json} plus {@code tokenizer_config.json}, which any
 * tokenizers implementation (and Gradus' own loading) reads.
 *
 * <p>Text is split into words exactly as the ByteLevel pre-tokenizer of the written file splits it
 * (GPT-2's pattern: contractions, letters, digits, other symbols, each with at most one leading
 * space); each word starts as its UTF-8 bytes, and the most frequent adjacent pair of symbols is
 * merged, again and again, until the vocabulary is full. Ties go to the pair whose merged string
 * sorts first, so training is deterministic.
 */
public final class BpeTrainer {

    /** GPT-2's pre-tokenization pattern, as used by the ByteLevel pre-tokenizer with use_regex. */
    private static final Pattern WORDS = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    /** Beginning, end and padding tokens of every tokenizer this trainer writes. */
    public static final String BOS = "<|bos|>";
    public static final String EOS = "<|eos|>";
    public static final String PAD = "<|pad|>";
    /** ChatML markers, so chat data renders with the built-in template. */
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";

    private static final List<String> SPECIALS = List.of(BOS, EOS, PAD, IM_START, IM_END);

    private BpeTrainer() {}

    /** A trained tokenizer: symbols by id (byte-level strings) and the merges in the order learned. */
    public record Trained(List<String> vocab, List<String> merges) {

        /** Id of a special token of this tokenizer. */
        public int specialId(String token) {
            return vocab.size() + SPECIALS.indexOf(token);
        }

        /** Vocabulary size including the special tokens. */
        public int size() {
            return vocab.size() + SPECIALS.size();
        }
    }

    /**
     * Learns merges from {@code texts} until the vocabulary (256 bytes + merges + 5 special tokens)
     * has {@code vocabSize} entries or no pair occurs twice.
     */
    public static Trained train(Iterable<String> texts, int vocabSize) {
        int merges = vocabSize - 256 - SPECIALS.size();
        if (merges < 0) {
            throw new IllegalArgumentException("vocabSize must be at least " + (256 + SPECIALS.size()) + ", was " + vocabSize);
        }
        Map<String, Integer> wordCounts = new HashMap<>();
        for (String text : texts) {
            Matcher m = WORDS.matcher(text);
            while (m.find()) {
                wordCounts.merge(m.group(), 1, Integer::sum);
            }
        }
        List<String> vocab = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            vocab.add(ByteLevel.symbol(b));
        }
        // Words as symbol-id sequences, with their counts.
        List<int[]> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        wordCounts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            byte[] bytes = e.getKey().getBytes(StandardCharsets.UTF_8);
            int[] symbols = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                symbols[i] = bytes[i] & 0xff;
            }
            words.add(symbols);
            counts.add(e.getValue());
        });
        // Pair counts and, for each pair, the words that contain it.
        Map<Long, Long> pairCounts = new HashMap<>();
        Map<Long, Set<Integer>> pairWords = new HashMap<>();
        for (int w = 0; w < words.size(); w++) {
            addPairs(words.get(w), counts.get(w), w, pairCounts, pairWords);
        }
        List<String> learned = new ArrayList<>();
        for (int step = 0; step < merges; step++) {
            long best = -1;
            long bestCount = 1;
            String bestString = null;
            for (var e : pairCounts.entrySet()) {
                long count = e.getValue();
                if (count < bestCount) {
                    continue;
                }
                String merged = vocab.get(first(e.getKey())) + vocab.get(second(e.getKey()));
                if (count > bestCount || bestString == null || merged.compareTo(bestString) < 0) {
                    best = e.getKey();
                    bestCount = count;
                    bestString = merged;
                }
            }
            if (bestString == null || bestCount < 2) {
                break;
            }
            int a = first(best);
            int b = second(best);
            int id = vocab.size();
            vocab.add(bestString);
            learned.add(vocab.get(a) + " " + vocab.get(b));
            for (int w : List.copyOf(pairWords.getOrDefault(best, Set.of()))) {
                int[] old = words.get(w);
                addPairs(old, -counts.get(w), w, pairCounts, pairWords);
                int[] merged = mergeWord(old, a, b, id);
                words.set(w, merged);
                addPairs(merged, counts.get(w), w, pairCounts, pairWords);
            }
        }
        return new Trained(vocab, learned);
    }

    private static int[] mergeWord(int[] word, int a, int b, int id) {
        int[] out = new int[word.length];
        int n = 0;
        for (int i = 0; i < word.length; i++) {
            if (i + 1 < word.length && word[i] == a && word[i + 1] == b) {
                out[n++] = id;
                i++;
            } else {
                out[n++] = word[i];
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static void addPairs(int[] word, long count, int w, Map<Long, Long> pairCounts, Map<Long, Set<Integer>> pairWords) {
        for (int i = 0; i + 1 < word.length; i++) {
            long pair = ((long) word[i] << 32) | word[i + 1];
            long updated = pairCounts.merge(pair, count, Long::sum);
            if (updated <= 0) {
                pairCounts.remove(pair);
                Set<Integer> set = pairWords.get(pair);
                if (set != null) {
                    set.remove(w);
                }
            } else if (count > 0) {
                pairWords.computeIfAbsent(pair, k -> new HashSet<>()).add(w);
            }
        }
    }

    private static int first(long pair) {
        return (int) (pair >>> 32);
    }

    private static int second(long pair) {
        return (int) pair;
    }

    /**
     * Writes {@code tokenizer.json} (byte-level BPE, BOS added by the post-processor, special tokens
     * registered as added tokens) and {@code tokenizer_config.json} (special tokens and a ChatML
     * chat template) into {@code dir}.
     */
    public static void write(Trained trained, Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : SPECIALS) {
            added.addObject().put("id", trained.specialId(special)).put("content", special).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject(BOS);
        bos.put("id", BOS);
        bos.putArray("ids").add(trained.specialId(BOS));
        bos.putArray("tokens").add(BOS);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < trained.vocab().size(); i++) {
            vocab.put(trained.vocab().get(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        trained.merges().forEach(merges::add);
        Files.createDirectories(dir);
        json.writeValue(dir.resolve("tokenizer.json").toFile(), root);

        ObjectNode config = json.createObjectNode();
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.put("bos_token", BOS);
        config.put("eos_token", EOS);
        config.put("pad_token", PAD);
        config.put("model_max_length", 1 << 20);
        config.put("chat_template", "{% for message in messages %}{{'" + IM_START + "' + message['role'] + '\\n' + "
                + "message['content'] + '" + IM_END + "' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '"
                + IM_START + "assistant\\n' }}{% endif %}");
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
    }
}
