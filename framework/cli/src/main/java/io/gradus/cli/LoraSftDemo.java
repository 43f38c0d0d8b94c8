package io.gradus.cli;

import io.gradus.api.job.JobInfo;
import io.gradus.api.job.TechniqueRef;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.Adapters;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code gradus demo lora}: teaches the built-in model with LoRA + SFT to answer "What does the word
 * X mean?" from WordNet, and compares the held-out answer loss and a few answers before and after.
 */
final class LoraSftDemo implements Demo {

    @Override
    public String technique() {
        return "lora";
    }

    @Override
    public String description() {
        return "LoRA + SFT: answer \"What does the word X mean?\" as WordNet does";
    }

    @Override
    public Summary run(Context context) throws Exception {
        DefinitionDemo demo = DefinitionDemo.prepare(context);
        LlamaModel base = LlamaModel.load(context.baseModel());
        DefinitionDemo.Measurement before = demo.measure(base);

        context.out().printf("== LoRA + SFT on %,d questions about words ==%n", demo.trainingQuestions());
        JobInfo run = demo.train("demo-lora-sft",
                new TechniqueRef("lora", null, Map.of("r", 16, "loraAlpha", 32, "targetModules", List.of("all-linear"))),
                300, 3e-3);
        LlamaModel tuned = LlamaModel.load(context.baseModel());
        Adapters.apply(tuned, Path.of(run.result()), context.local().host().catalog()).merge(context.kernels());
        DefinitionDemo.Measurement after = demo.measure(tuned);

        demo.print("LoRA SFT", before, after);
        context.out().println("adapter (PEFT layout): " + run.result());
        return DefinitionDemo.summary(before, after, run, base, Map.of());
    }
}
