package io.gradus.core.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (byte-level BPE as in Llama 3, SmolLM, Qwen2, GPT-2, with
 * added and special tokens), run by Hugging Face's own Rust implementation through DJL's binding:
 * token for token what Python's {@code tokenizers} produces. Works offline; the native library
 * ships inside the binding's jar.
 */
public final class HfTokenizer implements AutoCloseable {

    static {
        // Never let the binding look for a newer native library on the network.
        System.setProperty("ai.djl.offline", "true");
    }

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /**
     * Loads {@code tokenizer.json} from a model folder (or the file itself). Special tokens (BOS)
     * are added by {@link #encode} only as the tokenizer's post-processor says.
     */
    public static HfTokenizer load(Path folderOrFile) throws IOException {
        Path file = Files.isDirectory(folderOrFile) ? folderOrFile.resolve("tokenizer.json") : folderOrFile;
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no tokenizer.json");
        }
        try {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "true")), file);
        } catch (RuntimeException e) {
            throw new IOException(file + ": cannot load the tokenizer: " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text}, with the special tokens the tokenizer adds (e.g. BOS). */
    public int[] encode(String text) {
        return toInts(tokenizer.encode(text).getIds());
    }

    /** Token ids of {@code text} without added special tokens. */
    public int[] encodePlain(String text) {
        Encoding encoding = tokenizer.encode(text, false, false);
        return toInts(encoding.getIds());
    }

    /** The text of {@code ids}; special tokens are skipped when {@code skipSpecial}. */
    public String decode(int[] ids, boolean skipSpecial) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longs[i] = ids[i];
        }
        return tokenizer.decode(longs, skipSpecial);
    }

    public Path file() {
        return file;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
