package io.gradus.core.tokenizer;

/**
 * The byte-to-character table of byte-level BPE (GPT-2): bytes that are printable characters stand
 * for themselves, the others for the code points 256, 257, ... in byte order, so that every byte
 * sequence is a string of visible characters without spaces.
 */
final class ByteLevel {

    private static final String[] SYMBOLS = new String[256];

    static {
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            SYMBOLS[b] = printable ? String.valueOf((char) b) : String.valueOf((char) next++);
        }
    }

    private ByteLevel() {}

    /** The character that stands for byte {@code b}. */
    static String symbol(int b) {
        return SYMBOLS[b];
    }
}
