package io.gradus.plugin.full;

import io.gradus.api.technique.Setting;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Configuration of full fine-tuning.
 *
 * @param freeze regular expressions over parameter names (Hugging Face tensor names); parameters
 *     matching any of them stay frozen, all others train. Empty (the default) trains everything.
 *     Example: {@code ["model\\.embed_tokens\\..*"]} keeps the input embeddings fixed.
 */
public record FullConfig(
        @Setting(description = "Regular expressions over parameter names; matching parameters stay frozen, all others train.")
                List<String> freeze) {

    public FullConfig {
        freeze = freeze == null ? List.of() : List.copyOf(freeze);
        for (String pattern : freeze) {
            try {
                Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("freeze: '" + pattern + "' is not a valid regular expression: "
                        + e.getDescription(), e);
            }
        }
    }

    /** Everything trains. */
    public static FullConfig defaults() {
        return new FullConfig(List.of());
    }
}
