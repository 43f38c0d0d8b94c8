package io.gradus.core.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Where a fuzzer writes its inputs, one file overwritten at each try (jqwik properties get no
 * JUnit {@code @TempDir}). In memory ({@code /dev/shm}) where the machine has it: a write to this
 * machine's disk takes milliseconds, which would make the file writes, not the loaders, the
 * fuzzers' cost. Deleted when the JVM exits; a failing input is in jqwik's report (its edits and
 * its first bytes) and comes back from the seed jqwik prints.
 */
public final class ScratchFolder {

    private static final Path MEMORY = Path.of("/dev/shm");

    private final Path dir;

    public ScratchFolder(String name) {
        try {
            Path parent = Files.isDirectory(MEMORY) && Files.isWritable(MEMORY) ? MEMORY : Path.of("target").toAbsolutePath();
            dir = Files.createTempDirectory(parent, "gradus-fuzz-" + name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::deleteAll));
    }

    public Path dir() {
        return dir;
    }

    /** Writes {@code bytes} to {@code name} in the folder and returns the file. */
    public Path write(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
        return file;
    }

    /** Deletes {@code name} in the folder if it is there. */
    public void delete(String name) throws IOException {
        Files.deleteIfExists(dir.resolve(name));
    }

    private void deleteAll() {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            // Best effort at exit: a leftover temporary folder is harmless.
        }
    }
}
