package io.gradus.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.ParameterException;

/**
 * Where the built-in base model lives: {@code gradus pretrain} writes it, and every command that
 * takes {@code --model} uses it when none is named. {@code $GRADUS_CACHE} (or the system property
 * {@code gradus.cache}; default
 * {@code ~/.cache/gradus}) {@code /models/wordnet}; the Hugging Face folder is its {@code model/}.
 */
final class DefaultModel {

    private DefaultModel() {}

    /** The folder {@code gradus pretrain} writes by default. */
    static Path runFolder() {
        String cache = System.getProperty("gradus.cache", System.getenv("GRADUS_CACHE"));
        Path root = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "gradus");
        return root.resolve("models").resolve("wordnet");
    }

    /** {@code model}, or the built-in model when null; a clear error if that does not exist yet. */
    static Path orDefault(Path model, picocli.CommandLine commandLine) {
        if (model != null) {
            return model;
        }
        Path builtIn = runFolder().resolve("model");
        if (!Files.isRegularFile(builtIn.resolve("config.json"))) {
            throw new ParameterException(commandLine, "no --model given and the built-in model does not exist yet ("
                    + builtIn + "); create it with: ./gradus pretrain");
        }
        return builtIn;
    }
}
