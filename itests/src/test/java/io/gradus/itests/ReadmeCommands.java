package io.gradus.itests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The commands README.md shows, read from its text so that tests run them as written: a test finds
 * the line, replaces the README's placeholders (DIR, ADIR, ...) by its own folders, and runs it.
 */
final class ReadmeCommands {

    private ReadmeCommands() {}

    /** The first command line of README.md that contains {@code marker}, continuation lines joined. */
    static String line(String marker) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("..", "README.md"));
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(marker)) {
                StringBuilder command = new StringBuilder(lines.get(i));
                while (command.toString().stripTrailing().endsWith("\\")) {
                    command.append('\n').append(lines.get(++i));
                }
                return command.toString();
            }
        }
        throw new AssertionError("README.md has no command with " + marker);
    }

    /**
     * The arguments of the {@code ./gradus} command on the first README.md line that contains
     * {@code marker}, split at spaces: the comment after {@code #} dropped, every {@code out/} put
     * under {@code dir}, and {@code extra} appended.
     */
    static String[] inFolder(String marker, Path dir, String... extra) throws IOException {
        String command = line(marker);
        command = command.substring(0, command.contains("#") ? command.indexOf('#') : command.length()).strip();
        List<String> args = new ArrayList<>(Arrays.asList(command.replace("out/", dir.resolve("out") + "/").split("\\s+")));
        if (!args.removeFirst().equals("./gradus")) {
            throw new AssertionError("README.md's line with " + marker + " is not a ./gradus command: " + command);
        }
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    /**
     * The arguments of the {@code ./gradus} command README.md shows on the line that starts with
     * {@code prefix} (e.g. {@code "./gradus quantize "}), as the shell would split them: the comment
     * after {@code #} dropped, double quotes removed, every argument that is a key of
     * {@code placeholders} replaced by its value, and each optional part in brackets ({@code [--merge]})
     * kept without its brackets when {@code optional} is true, dropped when false.
     */
    static String[] gradus(String prefix, Map<String, String> placeholders, boolean optional) throws IOException {
        String command = readmeLine(prefix);
        if (optional && command.matches(".*\\[[^]]*\\|[^]]*].*")) {
            throw new AssertionError("README's " + prefix + " has alternatives [a | b]: pick one with the other gradus(...)");
        }
        return split(optional ? command.replace("[", "").replace("]", "") : command.replaceAll("\\[[^]]*]", ""),
                placeholders);
    }

    /**
     * As {@link #gradus(String, Map, boolean)}, with the optional part that offers {@code alternative}
     * among its choices ({@code [--resume | --overwrite]}) replaced by it, and every other optional part
     * dropped.
     */
    static String[] gradus(String prefix, Map<String, String> placeholders, String alternative) throws IOException {
        String command = readmeLine(prefix);
        Matcher parts = Pattern.compile("\\[([^]]*)]").matcher(command);
        StringBuilder chosen = new StringBuilder();
        boolean found = false;
        while (parts.find()) {
            boolean offers = List.of(parts.group(1).split("\\|")).stream().map(String::strip).anyMatch(alternative::equals);
            found |= offers;
            parts.appendReplacement(chosen, offers ? Matcher.quoteReplacement(alternative) : "");
        }
        parts.appendTail(chosen);
        if (!found) {
            throw new AssertionError("README's " + prefix + " offers no " + alternative + ": " + command);
        }
        return split(chosen.toString(), placeholders);
    }

    /**
     * The arguments of the command README.md writes in its text as inline code starting with
     * {@code prefix} (e.g. {@code `gradus score --model DIR [--adapter A] --data FILE.jsonl`}), as
     * {@link #gradus(String, Map, boolean)} gives those of a command line.
     */
    static String[] inline(String prefix, Map<String, String> placeholders, boolean optional) throws IOException {
        Matcher code = Pattern.compile("`(" + Pattern.quote(prefix) + "[^`]*)`")
                .matcher(Files.readString(Path.of("..", "README.md")));
        if (!code.find()) {
            throw new AssertionError("README.md has no inline command starting with " + prefix);
        }
        String command = code.group(1);
        return split(optional ? command.replace("[", "").replace("]", "") : command.replaceAll("\\[[^]]*]", ""),
                placeholders);
    }

    /** The README line that starts with {@code prefix}, without its comment. */
    private static String readmeLine(String prefix) throws IOException {
        String command = Files.readAllLines(Path.of("..", "README.md")).stream().map(String::strip)
                .filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("README.md has no line starting with " + prefix));
        return command.contains(" #") ? command.substring(0, command.indexOf(" #")) : command;
    }

    /** A command's arguments after {@code ./gradus} (or {@code gradus}), as the shell splits them, placeholders replaced. */
    private static String[] split(String command, Map<String, String> placeholders) {
        List<String> args = new ArrayList<>();
        StringBuilder arg = null;
        boolean quoted = false;
        for (char c : command.replaceFirst("^(\\./)?gradus ", "").toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
                arg = arg == null ? new StringBuilder() : arg;
            } else if (Character.isWhitespace(c) && !quoted) {
                if (arg != null) {
                    args.add(arg.toString());
                }
                arg = null;
            } else {
                arg = (arg == null ? new StringBuilder() : arg).append(c);
            }
        }
        if (arg != null) {
            args.add(arg.toString());
        }
        return args.stream().map(a -> placeholders.getOrDefault(a, a)).toArray(String[]::new);
    }
}
