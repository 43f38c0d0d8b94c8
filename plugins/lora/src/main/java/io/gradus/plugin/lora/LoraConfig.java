package io.gradus.plugin.lora;

import io.gradus.api.technique.Setting;
import java.util.List;
import java.util.Objects;

/**
 * Configuration of LoRA, with PEFT's field names and defaults, but for {@code loraAlpha}: 16 here, 8 in
 * PEFT (an {@code adapter_config.json} without {@code lora_alpha} is read with PEFT's 8).
 *
 * @param r rank of the update B·A (default 8)
 * @param loraAlpha scaling numerator: the update is multiplied by loraAlpha/r, or loraAlpha/√r with
 *     rsLoRA (default 16)
 * @param loraDropout dropout probability on the LoRA branch's input, in training only (default 0)
 * @param targetModules modules to adapt (default q_proj, v_proj): a name matches a module whose name
 *     is it or ends with "." + it (PEFT's list semantics); an entry with regular-expression
 *     characters other than '.' ({@code * + ? [ ] ( ) | ^ $ \}) must match the whole module name
 *     (PEFT's string semantics); the single entry {@code all-linear} adapts every linear module
 *     except the output head
 * @param useRslora rank-stabilised scaling α/√r (Kalajdzievski 2023) instead of α/r (default false)
 * @param adapterName name of this adapter among several on one model (default {@code default});
 *     its factors are named {@code <module>.lora_A.<name>.weight} unless it is the default one
 */
public record LoraConfig(
        @Setting(description = "Rank of the update B·A.", min = 1) Integer r,
        @Setting(description = "Scaling numerator: the update is multiplied by loraAlpha / r (or loraAlpha / √r with rsLoRA).",
                min = 0, exclusiveMin = true) Double loraAlpha,
        @Setting(description = "Dropout probability on the LoRA branch's input, in training only.", min = 0, max = 1,
                exclusiveMax = true) Double loraDropout,
        @Setting(description = "Modules to adapt (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj): a name "
                + "matches a module that is it or ends with it; all-linear adapts every linear module but the output head.")
                List<String> targetModules,
        @Setting(description = "Rank-stabilised scaling loraAlpha / √r (Kalajdzievski 2023) instead of loraAlpha / r.")
                Boolean useRslora,
        @Setting(description = "Name of this adapter among several on one model (letters, digits, '_', '-').")
                String adapterName) {

    public LoraConfig {
        r = r == null ? 8 : r;
        loraAlpha = loraAlpha == null ? 16.0 : loraAlpha;
        loraDropout = loraDropout == null ? 0.0 : loraDropout;
        if (targetModules != null && targetModules.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException("targetModules: an entry is null, not a module name");
        }
        targetModules = targetModules == null || targetModules.isEmpty() ? List.of("q_proj", "v_proj") : List.copyOf(targetModules);
        useRslora = useRslora != null && useRslora;
        adapterName = adapterName == null || adapterName.isBlank() ? "default" : adapterName;
        if (!adapterName.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("adapterName must be letters, digits, '_' or '-', was '" + adapterName + "'");
        }
        if (r <= 0) {
            throw new IllegalArgumentException("r must be > 0, was " + r);
        }
        if (!(loraAlpha > 0)) {
            throw new IllegalArgumentException("loraAlpha must be > 0, was " + loraAlpha);
        }
        for (String target : targetModules) {
            try {
                java.util.regex.Pattern.compile(target);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new IllegalArgumentException("targetModules: '" + target + "' is not a valid pattern: " + e.getDescription());
            }
        }
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw new IllegalArgumentException("loraDropout must be in [0, 1), was " + loraDropout);
        }
    }

    /** The defaults: r 8, α 16 (PEFT's is 8), no dropout, q_proj and v_proj. */
    public static LoraConfig defaults() {
        return new LoraConfig(null, null, null, null, null, null);
    }

    /** The factor applied to B·A·x. */
    public double scaling() {
        return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
    }

    /** Whether the module {@code name} (e.g. model.layers.0.self_attn.q_proj) is adapted. */
    public boolean targets(String name) {
        if (targetModules.equals(List.of("all-linear"))) {
            return true;
        }
        for (String target : targetModules) {
            boolean pattern = target.chars().anyMatch(c -> "*+?[]()|^$\\".indexOf(c) >= 0);
            if (pattern ? name.matches(target) : name.equals(target) || name.endsWith("." + target)) {
                return true;
            }
        }
        return false;
    }
}
