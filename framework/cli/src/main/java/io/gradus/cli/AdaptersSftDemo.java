package io.gradus.cli;

import io.gradus.api.job.JobInfo;
import io.gradus.api.job.TechniqueRef;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.Adapters;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code gradus demo adapters}: the definition task of {@link LoraSftDemo}, taught with Houlsby
 * bottleneck adapters (after attention and after the MLP of every layer) instead of LoRA; the
 * adapter is saved in the AdapterHub {@code adapters} layout.
 */
final class AdaptersSftDemo implements Demo {

    @Override
    public String technique() {
        return "adapters";
    }

    @Override
    public String description() {
        return "Houlsby bottleneck adapters + SFT, same task (AdapterHub layout)";
    }

    @Override
    public Summary run(Context context) throws Exception {
        DefinitionDemo demo = DefinitionDemo.prepare(context);
        LlamaModel base = LlamaModel.load(context.baseModel());
        DefinitionDemo.Measurement before = demo.measure(base);

        context.out().printf("== Houlsby adapters + SFT on %,d questions about words ==%n", demo.trainingQuestions());
        JobInfo run = demo.train("demo-adapters-sft",
                new TechniqueRef("adapters", null, Map.of("preset", "double_seq_bn", "adapterName", "definitions",
                        "reductionFactor", 4)),
                300, 3e-3);
        LlamaModel tuned = LlamaModel.load(context.baseModel());
        Adapters.apply(tuned, Path.of(run.result()), context.local().host().catalog());
        DefinitionDemo.Measurement after = demo.measure(tuned);

        demo.print("Houlsby adapters SFT", before, after);
        context.out().println("adapter (AdapterHub adapters layout): " + run.result());
        return DefinitionDemo.summary(before, after, run, base, Map.of());
    }
}
