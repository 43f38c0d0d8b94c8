package io.gradus.plugin.sft;

import io.gradus.api.technique.Setting;

/**
 * Configuration of supervised fine-tuning.
 *
 * @param completionOnly take the loss on the completion (prompt/completion records) or on the
 *     assistant turns (chat records) only, as TRL does by default; false trains on every token
 *     (default true)
 */
public record SftConfig(
        @Setting(description = "Take the loss on the completion or the assistant turns only; off trains on every token.")
                Boolean completionOnly) {

    public SftConfig {
        completionOnly = completionOnly == null || completionOnly;
    }

    public static SftConfig defaults() {
        return new SftConfig(null);
    }
}
