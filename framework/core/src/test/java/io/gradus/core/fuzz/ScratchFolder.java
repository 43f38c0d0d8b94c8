package io.gradus.core.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a fuzzer writes its inputs: {@code target/fuzz/<name>} of the module, overwritten at each
 * try, so the input of a failing try is left there to look at. (jqwik properties get no JUnit
 * {@code @TempDir}.)
 */
public final class ScratchFolder {

    private final Path dir;

    public ScratchFolder(String name) {
        dir = Path.of("target", "fuzz", name).toAbsolutePath();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
}
