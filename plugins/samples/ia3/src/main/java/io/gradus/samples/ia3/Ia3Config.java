package io.gradus.samples.ia3;

import java.util.List;

/**
 * Settings of IA³, named and defaulted as PEFT's {@code IA3Config} for Llama
 * ({@code TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING} and {@code ..._FEEDFORWARD_MODULES_MAPPING}).
 * A job file writes them in camelCase; an adapter's {@code adapter_config.json} in PEFT's snake_case.
 *
 * @param targetModules the linear modules that get a learned vector, by the last part of their
 *     name or their whole name; default {@code k_proj, v_proj, down_proj}
 * @param feedforwardModules the target modules whose vector scales their input rather than their
 *     output (a subset of the targets); default {@code down_proj}
 */
public record Ia3Config(List<String> targetModules, List<String> feedforwardModules) {

    public Ia3Config {
        targetModules = targetModules == null ? List.of("k_proj", "v_proj", "down_proj") : List.copyOf(targetModules);
        feedforwardModules = feedforwardModules == null ? List.of("down_proj") : List.copyOf(feedforwardModules);
        if (targetModules.isEmpty()) {
            throw new IllegalArgumentException("targetModules: name at least one module");
        }
        if (!targetModules.containsAll(feedforwardModules)) {
            throw new IllegalArgumentException("feedforwardModules " + feedforwardModules
                    + " must be a subset of targetModules " + targetModules);
        }
    }

    /** Every setting at its default. */
    public static Ia3Config defaults() {
        return new Ia3Config(null, null);
    }

    /** Whether {@code module} (a full Hugging Face module name) is named by {@code names}: PEFT's list matching. */
    static boolean names(List<String> names, String module) {
        return names.stream().anyMatch(n -> module.equals(n) || module.endsWith("." + n));
    }
}
