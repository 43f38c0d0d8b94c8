package io.gradus.plugin.qlora;

import io.gradus.api.kernel.Nf4;
import io.gradus.api.technique.Setting;
import io.gradus.plugin.lora.LoraConfig;
import java.util.List;

/**
 * Configuration of QLoRA: how the base is quantized, and the LoRA on top.
 *
 * @param blockSize weights per NF4 scale, one of bitsandbytes' 32, 64, …, 4096 (default 64, QLoRA's)
 * @param doubleQuant quantize the scales too, bitsandbytes' {@code compress_statistics} (default true,
 *     QLoRA's: about 0.516 bytes per weight instead of 0.5625)
 * @param quantizeModules the linear modules to quantize, matched as LoRA's {@code targetModules} are
 *     (default {@code all-linear}: the seven projections of every layer; embeddings, norms and
 *     {@code lm_head} always stay in float, as bitsandbytes leaves them)
 * @param lora the LoRA put on top, LoRA's own configuration with LoRA's defaults (default: r 8, α 16
 *     on q_proj and v_proj; the QLoRA paper adapts every linear module, {@code targetModules: [all-linear]})
 */
public record QloraConfig(
        @Setting(description = "Weights per NF4 scale: one of bitsandbytes' block sizes, the powers of two from 32 to 4096.",
                min = 32, max = 4096) Integer blockSize,
        @Setting(description = "Quantize the scales too (bitsandbytes' compress_statistics): about 0.516 bytes per "
                + "weight instead of 0.5625.") Boolean doubleQuant,
        @Setting(description = "Linear modules to quantize, matched as LoRA's targetModules are; all-linear: the seven "
                + "projections of every layer (embeddings, norms and lm_head stay in float).") List<String> quantizeModules,
        @Setting(description = "The LoRA put on top, LoRA's own settings (the QLoRA paper adapts every linear module: "
                + "targetModules [all-linear]).") LoraConfig lora) {

    public QloraConfig {
        blockSize = blockSize == null ? 64 : blockSize;
        doubleQuant = doubleQuant == null || doubleQuant;
        quantizeModules = quantizeModules == null || quantizeModules.isEmpty() ? List.of("all-linear")
                : List.copyOf(quantizeModules);
        lora = lora == null ? LoraConfig.defaults() : lora;
        if (!Nf4.BLOCK_SIZES.contains(blockSize)) {
            throw new IllegalArgumentException("blockSize must be one of bitsandbytes' " + Nf4.BLOCK_SIZES + "; was "
                    + blockSize);
        }
        try {
            selector(quantizeModules);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("quantizeModules: " + e.getMessage().replace("targetModules: ", ""), e);
        }
    }

    /** QLoRA's defaults: NF4 in blocks of 64 with double quantization on every linear module, LoRA's defaults on top. */
    public static QloraConfig defaults() {
        return new QloraConfig(null, null, null, null);
    }

    /** Whether the linear module {@code name} is quantized. */
    public boolean quantizes(String name) {
        return selector(quantizeModules).targets(name);
    }

    /** LoRA's module-name matching, reused through its published configuration rather than copied. */
    private static LoraConfig selector(List<String> modules) {
        return new LoraConfig(null, null, null, modules, null, null);
    }
}
