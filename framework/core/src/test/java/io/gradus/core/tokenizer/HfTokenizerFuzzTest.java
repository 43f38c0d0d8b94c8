package io.gradus.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.ScratchFolder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzes {@link HfTokenizer#load} (and a first use of what it loaded) and {@link ChatTemplate#load}:
 * a damaged {@code tokenizer.json} or {@code tokenizer_config.json} is refused with a clean error,
 * or gives a tokenizer that encodes and decodes text without failing.
 */
class HfTokenizerFuzzTest {

    /** Text touching every part of a byte-level BPE: merges, multi-byte UTF-8, an emoji, digits, a special token. */
    private static final String SAMPLE = "hello héllo 😀 123 <|bos|>hell\n\t";

    private static final JsonNode TOKENIZER = seed("tokenizer.json");

    private static final JsonNode TOKENIZER_CONFIG = seed("tokenizer_config.json");

    private final ScratchFolder scratch = new ScratchFolder("tokenizer-fuzz");

    @Provide
    Arbitrary<Mutant> tokenizers() {
        return Mutations.json(TOKENIZER);
    }

    @Provide
    Arbitrary<Mutant> tokenizerConfigs() {
        return Mutations.json(TOKENIZER_CONFIG);
    }

    @Property(tries = 5000, seed = Mutations.SEED)
    @Label("a damaged tokenizer.json gives a working tokenizer or a clean error")
    void damagedTokenizers(@ForAll("tokenizers") Mutant input) throws IOException {
        Path file = scratch.write("tokenizer.json", input.bytes());
        CleanLoad.attempt(() -> {
            try (HfTokenizer tokenizer = HfTokenizer.load(file)) {
                int[] ids = tokenizer.encodePlain(SAMPLE);
                tokenizer.encode(SAMPLE);
                return tokenizer.decode(ids, false);
            }
        }, file).ifPresent(text -> assertThat(text).isNotNull());
    }

    @Property(tries = 3000, seed = Mutations.SEED)
    @Label("a damaged tokenizer_config.json gives a chat template or a clean error")
    void damagedTokenizerConfigs(@ForAll("tokenizerConfigs") Mutant input) throws IOException {
        Path file = scratch.write("tokenizer_config.json", input.bytes());
        CleanLoad.attempt(() -> ChatTemplate.load(scratch.dir()), file).ifPresent(template -> assertThat(
                template.render(List.of(new ChatTemplate.Message("user", "hi")), true)).contains("hi"));
    }

    /**
     * The trainer's byte-level BPE files (256 byte tokens, three merges, special tokens, a BOS
     * post-processor), with Llama 3's pre-tokenizer: a Split on its regex, then ByteLevel.
     */
    private static JsonNode seed(String name) {
        try {
            Path dir = Files.createTempDirectory("tokenizer-fuzz-seed");
            List<String> vocab = new ArrayList<>();
            for (int b = 0; b < 256; b++) {
                vocab.add(ByteLevel.symbol(b));
            }
            vocab.addAll(List.of("he", "ll", "hell"));
            BpeTrainer.write(new BpeTrainer.Trained(vocab, List.of("h e", "l l", "he ll")), dir);
            JsonNode json = Mutations.parse(Files.readString(dir.resolve(name)));
            if (name.equals("tokenizer.json")) {
                ((ObjectNode) json).set("pre_tokenizer", Mutations.parse("""
                        {"type": "Sequence", "pretokenizers": [
                          {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"},
                           "behavior": "Isolated", "invert": false},
                          {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}"""));
            }
            for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                Files.delete(dir.resolve(f));
            }
            Files.delete(dir);
            return json;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
