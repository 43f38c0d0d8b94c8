package io.gradus.jobs;

import java.nio.file.Path;

/**
 * Where the built-in base model lives: {@code gradus pretrain} writes it, and jobs and commands that
 * name no model use it. {@code $GRADUS_CACHE} (or the system property {@code gradus.cache}; default
 * {@code ~/.cache/gradus}) {@code /models/wordnet}; the Hugging Face folder is its {@code model/}.
 */
public final class BuiltInModel {

    private BuiltInModel() {}

    /** The folder {@code gradus pretrain} writes by default. */
    public static Path runFolder() {
        String cache = System.getProperty("gradus.cache", System.getenv("GRADUS_CACHE"));
        Path root = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "gradus");
        return root.resolve("models").resolve("wordnet");
    }

    /** The model folder inside {@link #runFolder()}. */
    public static Path modelFolder() {
        return runFolder().resolve("model");
    }
}
