package io.gradus.cli;

import io.gradus.api.job.TechniqueRef;
import io.gradus.core.llama.LlamaModel;
import java.util.List;
import java.util.Map;

/**
 * {@code gradus demo lora}: teaches the built-in model with LoRA + SFT to answer "What does the word
 * X mean?" from WordNet ({@link DefinitionDemo}): rank 16 on every linear module.
 */
final class LoraSftDemo extends Demo {

    /** The demo's LoRA: rank 16, alpha 32, on every linear module. */
    static final TechniqueRef TUNER = new TechniqueRef("lora", null, Map.of("r", 16, "loraAlpha", 32, "targetModules",
            List.of("all-linear")));

    LoraSftDemo() {
        super("lora", "LoRA + SFT: answer \"What does the word X mean?\" as WordNet does");
    }

    @Override
    Summary run(Context context) throws Exception {
        return DefinitionDemo.prepare(context).teach("LoRA", TUNER, "PEFT layout", () -> LlamaModel.load(context.baseModel()),
                Map.of());
    }
}
