package io.gradus.core.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Generators of damaged files for the loader fuzzers: a valid seed file, edited the way real files
 * go wrong. Structure-aware edits of a JSON document (a field deleted, renamed, given a value of
 * another type or an extreme number, a neighbour's number off by one or wrapped past 2^31, a deep
 * nesting), then byte-level damage (truncation, flipped bits, inserted and deleted bytes), and for
 * binary files 64-bit little-endian words overwritten with extreme lengths.
 *
 * <p>Each input is a plan of edits drawn by jqwik, applied deterministically to the seed: jqwik
 * shrinks a failure to the fewest, simplest edits, and the {@link Mutant}'s description names them.
 * Use from any loader's property:
 *
 * <pre>{@code
 * @Provide Arbitrary<Mutant> jobFiles() { return Mutations.json(Mutations.parse(validJobJson)); }
 *
 * @Property(tries = 3000)
 * void jobFilesLoadOrFailCleanly(@ForAll("jobFiles") Mutant input) throws Exception {
 *     Path file = dir.resolve("job.json");
 *     Files.write(file, input.bytes());
 *     CleanLoad.attempt(() -> JobSpec.read(file), file).ifPresent(job -> ...check it...);
 * }
 * }</pre>
 */
public final class Mutations {

    /**
     * The seed every fuzzer runs with in the build: the same inputs in every run, so the build's
     * outcome does not depend on chance. Explore new inputs by changing it (or by running a
     * property with {@code -Djqwik.seeds.whenfixed=ALLOW} and another seed) and keep a
     * regression test for every failure found.
     */
    public static final String SEED = "20261129";


    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Values that break loaders: other types, extreme and wrapping integers, odd text, deep nesting. */
    private static final List<JsonNode> EXTREMES = extremes();

    /** Bytes that matter to parsers: NUL, high bits, an unfinished UTF-8 sequence, JSON punctuation. */
    private static final byte[] SPECIAL_BYTES = {0, (byte) 0xFF, (byte) 0x80, (byte) 0xC3, '"', '\\', '{', '}', '[',
        ']', ',', ':', '0', '-', 'e', ' '};

    /** Lengths and offsets at the edges: sign, 2^31, 2^32, 2^40, 2^63, and the 100 MiB header limit. */
    private static final long[] EXTREME_LONGS = {0, 1, -1, 7, 8, 9, 255, Integer.MAX_VALUE, 1L << 31, 1L << 32,
        1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, 100L << 20, (100L << 20) + 1};

    private Mutations() {}

    /** What an edit of a JSON document does to the node it picks. */
    public enum JsonEditKind {
        /** Removes the node from its object or array (the root: an empty file). */
        DELETE,
        /** Replaces the node with an extreme value. */
        REPLACE,
        /** Renames the field holding the node (one character dropped: a typo). */
        RENAME,
        /** Adds an unknown field with an extreme value to an object, or an element to an array. */
        ADD,
        /** Wraps the node in an array. */
        WRAP,
        /** Replaces the node with a copy of another node of the document. */
        COPY,
        /** Moves a number off by one, negates it, doubles it, or pushes it past 2^31 or 2^32. */
        NUDGE
    }

    /** One edit: which node (an index into the document's nodes, modulo their count), what, and a choice. */
    public record JsonEdit(int target, JsonEditKind kind, int choice) {}

    /** What a byte-level edit does at its position. */
    public enum ByteEditKind {
        TRUNCATE, FLIP_BIT, SET_BYTE, INSERT_BYTE, DELETE_BYTES,
        /** Overwrites the 8-byte-aligned little-endian word at the position with an extreme length. */
        SET_LONG
    }

    /** One byte-level edit: position (modulo the length), what, and a choice. */
    public record ByteEdit(int position, ByteEditKind kind, int choice) {}

    /** Parses a seed document. */
    public static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("the seed is not JSON: " + json, e);
        }
    }

    /** Mutants of a JSON document: 1 to 4 structural edits, sometimes followed by damage to the text. */
    public static Arbitrary<Mutant> json(JsonNode seed) {
        return Combinators.combine(jsonEdits().list().ofMinSize(1).ofMaxSize(4), byteEdits(false).list().ofMaxSize(2))
                .as((edits, damage) -> damage(edit(seed, edits), damage));
    }

    /**
     * Well-formed mutants of a JSON document: 1 to 4 structural edits and no damage to the text, the
     * JSON a user writes with a field missing, misspelt or of another type. Most of them parse, so a
     * loader's checks of what it accepts are reached far more often than through {@link #json}.
     */
    public static Arbitrary<Mutant> edited(JsonNode seed) {
        return jsonEdits().list().ofMinSize(1).ofMaxSize(4).map(edits -> edit(seed, edits));
    }

    /** Mutants of a binary file: 1 to 4 byte-level edits, including extreme 64-bit words. */
    public static Arbitrary<Mutant> bytes(byte[] seed) {
        return byteEdits(true).list().ofMinSize(1).ofMaxSize(4).map(edits -> damage(Mutant.seed(seed), edits));
    }

    /** {@code inputs}, each sometimes damaged further by 1 or 2 byte-level edits (after framing, say). */
    public static Arbitrary<Mutant> damaged(Arbitrary<Mutant> inputs) {
        return Combinators.combine(inputs, byteEdits(true).list().ofMaxSize(2)).as(Mutations::damage);
    }

    private static Arbitrary<JsonEdit> jsonEdits() {
        return Combinators.combine(Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.of(JsonEditKind.class), Arbitraries.integers().between(0, Integer.MAX_VALUE)).as(JsonEdit::new);
    }

    private static Arbitrary<ByteEdit> byteEdits(boolean binary) {
        Arbitrary<ByteEditKind> kinds = binary ? Arbitraries.of(ByteEditKind.class)
                : Arbitraries.of(Arrays.stream(ByteEditKind.values()).filter(k -> k != ByteEditKind.SET_LONG).toList());
        return Combinators.combine(Arbitraries.integers().between(0, Integer.MAX_VALUE), kinds,
                Arbitraries.integers().between(0, Integer.MAX_VALUE)).as(ByteEdit::new);
    }

    /** Applies {@code edits} in order to a copy of {@code seed}. */
    public static Mutant edit(JsonNode seed, List<JsonEdit> edits) {
        JsonNode root = seed.deepCopy();
        List<String> done = new ArrayList<>();
        boolean emptied = false;
        for (JsonEdit edit : edits) {
            List<Site> sites = new ArrayList<>();
            collect(root, null, null, -1, "", sites);
            Site site = sites.get(edit.target() % sites.size());
            JsonEditKind kind = edit.kind();
            JsonNode replacement = switch (kind) {
                case DELETE -> null;
                case REPLACE -> extreme(edit.choice());
                case WRAP -> NODES.arrayNode().add(site.node().deepCopy());
                case COPY -> sites.get(edit.choice() % sites.size()).node().deepCopy();
                case NUDGE -> nudge(site.node(), edit.choice());
                case RENAME, ADD -> site.node();
            };
            if (kind == JsonEditKind.DELETE && site.parent() == null) {
                emptied = true;
                done.add("delete everything");
                break;
            }
            if (kind == JsonEditKind.RENAME && site.parent() instanceof ObjectNode object) {
                String renamed = typo(site.field(), edit.choice());
                object.remove(site.field());
                object.set(renamed, site.node());
                done.add("rename " + site.pointer() + " to " + renamed);
                continue;
            }
            if (kind == JsonEditKind.ADD && site.node() instanceof ObjectNode object) {
                JsonNode value = extreme(edit.choice());
                object.set("unexpected_" + edit.choice() % 7, value);
                done.add("add " + site.pointer() + "/unexpected_" + edit.choice() % 7 + " = " + shortly(value));
                continue;
            }
            if (kind == JsonEditKind.ADD && site.node() instanceof ArrayNode array) {
                JsonNode value = extreme(edit.choice());
                array.add(value);
                done.add("append " + shortly(value) + " to " + site.pointer());
                continue;
            }
            if (replacement == site.node()) { // RENAME of an array element or ADD to a scalar: replace instead
                replacement = extreme(edit.choice());
            }
            if (site.parent() == null) {
                root = replacement;
            } else if (site.parent() instanceof ObjectNode object) {
                if (replacement == null) {
                    object.remove(site.field());
                } else {
                    object.set(site.field(), replacement);
                }
            } else if (site.parent() instanceof ArrayNode array) {
                if (replacement == null) {
                    array.remove(site.index());
                } else {
                    array.set(site.index(), replacement);
                }
            }
            done.add(replacement == null ? "delete " + site.pointer() : "set " + site.pointer() + " = " + shortly(replacement));
        }
        byte[] bytes;
        try {
            bytes = emptied ? new byte[0] : JSON.writeValueAsBytes(root);
        } catch (Exception e) {
            throw new IllegalStateException("cannot write a mutated document", e);
        }
        return new Mutant(String.join("; ", done), bytes);
    }

    /** Applies byte-level {@code edits} in order to {@code input}. */
    public static Mutant damage(Mutant input, List<ByteEdit> edits) {
        Mutant result = input;
        for (ByteEdit edit : edits) {
            byte[] b = result.bytes();
            int at = b.length == 0 ? 0 : edit.position() % b.length;
            int choice = edit.choice();
            result = switch (edit.kind()) {
                case TRUNCATE -> result.then("truncate at " + at, Arrays.copyOf(b, at));
                case FLIP_BIT -> {
                    if (b.length == 0) {
                        yield result;
                    }
                    byte[] copy = b.clone();
                    copy[at] ^= (byte) (1 << (choice % 8));
                    yield result.then("flip bit " + choice % 8 + " of byte " + at, copy);
                }
                case SET_BYTE -> {
                    if (b.length == 0) {
                        yield result;
                    }
                    byte[] copy = b.clone();
                    copy[at] = SPECIAL_BYTES[choice % SPECIAL_BYTES.length];
                    yield result.then("set byte " + at + " to " + (copy[at] & 0xFF), copy);
                }
                case INSERT_BYTE -> {
                    byte[] copy = new byte[b.length + 1];
                    System.arraycopy(b, 0, copy, 0, at);
                    copy[at] = SPECIAL_BYTES[choice % SPECIAL_BYTES.length];
                    System.arraycopy(b, at, copy, at + 1, b.length - at);
                    yield result.then("insert byte " + (copy[at] & 0xFF) + " at " + at, copy);
                }
                case DELETE_BYTES -> {
                    int count = Math.min(1 + choice % 16, b.length - at);
                    byte[] copy = new byte[b.length - count];
                    System.arraycopy(b, 0, copy, 0, at);
                    System.arraycopy(b, at + count, copy, at, b.length - at - count);
                    yield result.then("delete " + count + " bytes at " + at, copy);
                }
                case SET_LONG -> {
                    int word = at - at % 8;
                    if (word + 8 > b.length) {
                        yield result;
                    }
                    long value = EXTREME_LONGS[choice % EXTREME_LONGS.length];
                    byte[] copy = b.clone();
                    ByteBuffer.wrap(copy, word, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(value);
                    yield result.then("set the 64-bit word at " + word + " to " + value, copy);
                }
            };
        }
        return result;
    }

    /** A node of the document and where it sits: in an object under a field, or in an array at an index. */
    private record Site(JsonNode node, JsonNode parent, String field, int index, String pointer) {}

    private static void collect(JsonNode node, JsonNode parent, String field, int index, String pointer, List<Site> out) {
        out.add(new Site(node, parent, field, index, pointer.isEmpty() ? "/" : pointer));
        if (node instanceof ObjectNode object) {
            for (Map.Entry<String, JsonNode> e : object.properties()) {
                collect(e.getValue(), node, e.getKey(), -1, pointer + "/" + e.getKey(), out);
            }
        } else if (node instanceof ArrayNode array) {
            for (int i = 0; i < array.size(); i++) {
                collect(array.get(i), node, null, i, pointer + "/" + i, out);
            }
        }
    }

    /** A copy of an extreme value: the edits that follow may change it, and the list is shared. */
    private static JsonNode extreme(int choice) {
        return EXTREMES.get(choice % EXTREMES.size()).deepCopy();
    }

    private static String typo(String field, int choice) {
        if (field.isEmpty()) {
            return "x";
        }
        int at = choice % field.length();
        return field.substring(0, at) + field.substring(at + 1);
    }

    private static JsonNode nudge(JsonNode node, int choice) {
        if (!node.isIntegralNumber()) {
            return extreme(choice);
        }
        BigInteger v = node.bigIntegerValue();
        BigInteger nudged = switch (choice % 8) {
            case 0 -> v.add(BigInteger.ONE);
            case 1 -> v.subtract(BigInteger.ONE);
            case 2 -> v.negate();
            case 3 -> v.shiftLeft(1);
            case 4 -> v.shiftRight(1);
            case 5 -> v.add(BigInteger.ONE.shiftLeft(31));
            case 6 -> v.add(BigInteger.ONE.shiftLeft(32));
            default -> BigInteger.ZERO;
        };
        return NODES.numberNode(nudged);
    }

    private static String shortly(JsonNode value) {
        String text = value.toString();
        return text.length() > 40 ? text.substring(0, 40) + "...(" + text.length() + " chars)" : text;
    }

    private static List<JsonNode> extremes() {
        List<JsonNode> v = new ArrayList<>();
        v.add(NODES.nullNode());
        v.add(NODES.booleanNode(true));
        v.add(NODES.booleanNode(false));
        v.add(NODES.textNode(""));
        v.add(NODES.textNode("x"));
        v.add(NODES.textNode("64"));
        v.add(NODES.textNode("\u0000é漢😀\u200d"));
        v.add(NODES.textNode("a".repeat(20_000)));
        for (long n : new long[] {0, -1, 1, 2, 3, 8, 255, 256, 65536, Integer.MAX_VALUE, 1L << 31, 1L << 32, 1L << 40,
            -(1L << 40), Long.MAX_VALUE, Long.MIN_VALUE}) {
            v.add(NODES.numberNode(n));
        }
        v.add(NODES.numberNode(BigInteger.ONE.shiftLeft(64)));
        v.add(NODES.numberNode(BigInteger.TEN.pow(30)));
        v.add(NODES.numberNode(1.5));
        v.add(NODES.numberNode(-0.0));
        v.add(NODES.numberNode(1e308));
        v.add(NODES.numberNode(Double.MIN_VALUE));
        v.add(NODES.arrayNode());
        v.add(NODES.objectNode());
        v.add(NODES.arrayNode().add(0));
        v.add(NODES.arrayNode().add(-1).add(5));
        v.add(NODES.arrayNode().add(1).add(2).add(3).add(4).add(5).add(6).add(7).add(8));
        v.add(NODES.objectNode().putNull("a"));
        // Nesting deeper than any parser should follow (Jackson stops at 1000 levels, serde_json at 128).
        v.add(NODES.rawValueNode(new RawValue("[".repeat(5000) + "]".repeat(5000))));
        v.add(NODES.rawValueNode(new RawValue("{\"a\":".repeat(5000) + "1" + "}".repeat(5000))));
        return List.copyOf(v);
    }
}
