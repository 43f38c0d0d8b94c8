package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.technique.Tuner;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code gradus demo qlora}: the definition task of {@link LoraSftDemo}, taught with QLoRA: the
 * built-in model's linear weights become NF4 (blocks of 64, double quantization) as the job loads
 * them, and LoRA trains on top ({@link DefinitionDemo}). Before and after are measured on that NF4
 * base, which is also compared with the float model it came from: loss and resident bytes.
 */
final class QloraSftDemo extends Demo {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** QLoRA's own defaults for the base; LoRA as in the LoRA demo. */
    private static final Map<String, Object> CONFIG = Map.of("blockSize", 64, "doubleQuant", true,
            "lora", Map.of("r", 16, "loraAlpha", 32, "targetModules", List.of("all-linear")));

    QloraSftDemo() {
        super("qlora", "QLoRA + SFT, same task: NF4 base quantized as it loads, LoRA on top");
    }

    @Override
    Summary run(Context context) throws Exception {
        DefinitionDemo demo = DefinitionDemo.prepare(context);
        LlamaModel floatBase = LlamaModel.load(context.baseModel());
        double floatLoss = demo.measure(floatBase).loss();
        LlamaModel nf4Base = loadNf4(context);
        List<QuantizedWeight> quantized = nf4Base.quantizedWeights();
        long quantizedValues = quantized.stream().mapToLong(QuantizedWeight::size).sum();
        long quantizedBytes = quantized.stream().mapToLong(QuantizedWeight::bytes).sum();
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("base_bytes_float", residentBytes(floatBase));
        extra.put("base_bytes_nf4", residentBytes(nf4Base));
        extra.put("nf4_bytes_per_weight", (double) quantizedBytes / quantizedValues);
        extra.put("float_base", Map.of("heldout_answer_loss", floatLoss));
        context.out().printf("base model, resident: %,d bytes in float32, %,d bytes with its %d linear weights in NF4 "
                + "(%,d weights at %.4f bytes each instead of 4); held-out answer loss in float %.3f%n",
                extra.get("base_bytes_float"), extra.get("base_bytes_nf4"), quantized.size(), quantizedValues,
                extra.get("nf4_bytes_per_weight"), floatLoss);
        return demo.teach("QLoRA", new TechniqueRef("qlora", null, CONFIG), "PEFT layout, for the NF4 base",
                () -> loadNf4(context), extra);
    }

    /** The built-in model as the QLoRA job loads it: quantized module by module by the qlora tuner's load transform. */
    @SuppressWarnings("unchecked")
    private static LlamaModel loadNf4(Context context) throws IOException {
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
