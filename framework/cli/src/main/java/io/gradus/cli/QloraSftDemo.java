package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.technique.Tuner;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.Adapters;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code gradus demo qlora}: the definition task of {@link LoraSftDemo}, taught with QLoRA: the
 * built-in model's linear weights become NF4 (blocks of 64, double quantization) as the job loads
 * them, and LoRA trains on top. Before and after are measured on that NF4 base, which is also
 * compared with the float model it came from, loss and resident bytes.
 */
final class QloraSftDemo implements Demo {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** QLoRA's own defaults for the base; LoRA as in the LoRA demo. */
    private static final Map<String, Object> CONFIG = Map.of("blockSize", 64, "doubleQuant", true,
            "lora", Map.of("r", 16, "loraAlpha", 32, "targetModules", List.of("all-linear")));

    @Override
    public String technique() {
        return "qlora";
    }

    @Override
    public String description() {
        return "QLoRA + SFT, same task: NF4 base quantized as it loads, LoRA on top";
    }

    @Override
    public Summary run(Context context) throws Exception {
        DefinitionDemo demo = DefinitionDemo.prepare(context);
        LlamaModel floatBase = LlamaModel.load(context.baseModel());
        long floatBytes = residentBytes(floatBase);
        DefinitionDemo.Measurement floatBefore = demo.measure(floatBase);
        LlamaModel base = loadNf4(context);
        long nf4Bytes = residentBytes(base);
        DefinitionDemo.Measurement before = demo.measure(base);
        List<QuantizedWeight> quantized = base.quantizedWeights();
        long quantizedValues = quantized.stream().mapToLong(QuantizedWeight::size).sum();
        long quantizedBytes = quantized.stream().mapToLong(QuantizedWeight::bytes).sum();
        context.out().printf("base model, resident: %,d bytes in float32, %,d bytes with its %d linear weights in NF4 "
                + "(%,d weights at %.4f bytes each instead of 4); held-out answer loss %.3f in float, %.3f in NF4%n",
                floatBytes, nf4Bytes, quantized.size(), quantizedValues, (double) quantizedBytes / quantizedValues,
                floatBefore.loss(), before.loss());

        context.out().printf("== QLoRA + SFT on %,d questions about words ==%n", demo.trainingQuestions());
        JobInfo run = demo.train("demo-qlora-sft", new TechniqueRef("qlora", null, CONFIG), 300, 3e-3);
        LlamaModel tuned = loadNf4(context);
        Adapters.apply(tuned, Path.of(run.result()), context.local().host().catalog());
        DefinitionDemo.Measurement after = demo.measure(tuned);

        demo.print("QLoRA SFT", before, after);
        context.out().println("adapter (PEFT layout, for the NF4 base): " + run.result());
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("base_bytes_float", floatBytes);
        extra.put("base_bytes_nf4", nf4Bytes);
        extra.put("nf4_bytes_per_weight", (double) quantizedBytes / quantizedValues);
        extra.put("float_base", Map.of("heldout_answer_loss", floatBefore.loss()));
        return DefinitionDemo.summary(before, after, run, base, extra);
    }

    /** The built-in model as the QLoRA job loads it: quantized module by module by the qlora tuner's load transform. */
    @SuppressWarnings("unchecked")
    private static LlamaModel loadNf4(Context context) throws Exception {
        Tuner<Object> qlora = (Tuner<Object>) context.local().host().catalog().tuner("qlora", null)
                .orElseThrow(() -> new IllegalStateException("the qlora tuner bundle is not running")).technique();
        LinearTransform quantize = qlora.loadTransform(JSON.convertValue(CONFIG, qlora.configType()));
        return LlamaModel.load(context.baseModel(), quantize);
    }

    /** Bytes the model's weights take in memory: 4 per float value, and what the NF4 codes and scales take. */
    private static long residentBytes(Model model) {
        return 4 * model.parameters().stream().mapToLong(Parameter::size).sum()
                + model.quantizedWeights().stream().mapToLong(QuantizedWeight::bytes).sum();
    }
}
