package io.gradus.itests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

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
        String command = Files.readAllLines(Path.of("..", "README.md")).stream().map(String::strip)
                .filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("README.md has no line starting with " + prefix));
        if (command.contains(" #")) {
            command = command.substring(0, command.indexOf(" #"));
        }
        command = optional ? command.replace("[", "").replace("]", "") : command.replaceAll("\\[[^]]*]", "");
        List<String> args = new ArrayList<>();
        StringBuilder arg = null;
        boolean quoted = false;
        for (char c : command.substring("./gradus".length()).toCharArray()) {
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
