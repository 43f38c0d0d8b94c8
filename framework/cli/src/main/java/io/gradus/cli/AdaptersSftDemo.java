package io.gradus.cli;

import io.gradus.api.job.TechniqueRef;
import io.gradus.core.llama.LlamaModel;
import java.util.Map;

/**
 * {@code gradus demo adapters}: the definition task ({@link DefinitionDemo}) taught with Houlsby
 * bottleneck adapters, after attention and after the MLP of every layer (reduction factor 4), saved
 * in the AdapterHub {@code adapters} layout.
 */
final class AdaptersSftDemo extends Demo {

    AdaptersSftDemo() {
        super("adapters", "Houlsby bottleneck adapters + SFT, same task (AdapterHub layout)");
    }

    @Override
    Summary run(Context context) throws Exception {
        return DefinitionDemo.prepare(context).teach("Houlsby adapters",
                new TechniqueRef("adapters", null, Map.of("preset", "double_seq_bn", "adapterName", "definitions",
                        "reductionFactor", 4)),
                "AdapterHub adapters layout", () -> LlamaModel.load(context.baseModel()), Map.of());
    }
}
