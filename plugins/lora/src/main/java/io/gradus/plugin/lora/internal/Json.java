package io.gradus.plugin.lora.internal;

import java.util.List;
import java.util.Map;

/**
 * A small JSON writer for the adapter's configuration: strings, numbers, booleans, null, lists and
 * maps. Technique bundles depend on the API only, so this bundle does not import a JSON library.
 */
final class Json {

    private Json() {}

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out, "");
        return out.append('\n').toString();
    }

    private static void write(Object value, StringBuilder out, String indent) {
        switch (value) {
            case null -> out.append("null");
            case String s -> string(s, out);
            case Number n -> out.append(n);
            case Boolean b -> out.append(b);
            case Map<?, ?> map -> {
                out.append("{");
                String inner = indent + "  ";
                boolean first = true;
                for (var e : map.entrySet()) {
                    out.append(first ? "\n" : ",\n").append(inner);
                    string(String.valueOf(e.getKey()), out);
                    out.append(": ");
                    write(e.getValue(), out, inner);
                    first = false;
                }
                out.append(first ? "}" : "\n" + indent + "}");
            }
            case List<?> list -> {
                out.append("[");
                for (int i = 0; i < list.size(); i++) {
                    out.append(i == 0 ? "" : ", ");
                    write(list.get(i), out, indent);
                }
                out.append("]");
            }
            default -> throw new IllegalArgumentException("cannot write " + value.getClass() + " as JSON");
        }
    }

    private static void string(String s, StringBuilder out) {
        out.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\r' -> out.append("\\r");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
