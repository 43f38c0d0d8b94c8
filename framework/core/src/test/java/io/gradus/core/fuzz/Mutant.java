package io.gradus.core.fuzz;

import java.nio.charset.StandardCharsets;

/**
 * One fuzz input: the bytes of a file and how they were made from the valid seed (the edits, in
 * order), so that a failing case reads as "replace /model/vocab with 1099511627776, then truncate
 * at 412" rather than as a byte dump.
 *
 * @param description the edits applied to the seed, or "seed" for none
 * @param bytes the file's content
 */
public record Mutant(String description, byte[] bytes) {

    /** The unmodified seed. */
    public static Mutant seed(byte[] bytes) {
        return new Mutant("seed", bytes);
    }

    /** A further edit of this input. */
    public Mutant then(String edit, byte[] edited) {
        return new Mutant(description.equals("seed") ? edit : description + "; " + edit, edited);
    }

    /** The same edits, with the bytes re-framed by the caller (e.g. a length prefix put in front). */
    public Mutant withBytes(byte[] framed) {
        return new Mutant(description, framed);
    }

    @Override
    public String toString() {
        String text = new String(bytes, 0, Math.min(bytes.length, 600), StandardCharsets.UTF_8)
                .replaceAll("[\\p{Cntrl}&&[^\n\t]]", "?");
        return description + " (" + bytes.length + " bytes: " + text + (bytes.length > 600 ? "..." : "") + ")";
    }
}
