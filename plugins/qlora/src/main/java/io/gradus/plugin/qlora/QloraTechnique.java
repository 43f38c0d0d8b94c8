package io.gradus.plugin.qlora;

import io.gradus.api.model.Linear;
import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.plugin.lora.LoraConfig;
import java.util.List;
import java.util.SequencedMap;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The {@code qlora} tuner (Dettmers et al. 2023, arXiv 2305.14314): the targeted linear modules'
 * weights become frozen 4-bit NormalFloat ({@link QuantizedLinear}, computed through the fused NF4
 * kernels, never expanded to float), and LoRA trains on top. LoRA is not copied here: this tuner
 * composes the {@code lora} tuner service with LoRA's published configuration, and LoRA dispatches
 * on the NF4 base by itself. The result is a LoRA adapter in PEFT's layout, as PEFT saves a QLoRA
 * adapter.
 *
 * <p>Given as a load transform, the quantization happens module by module while the base model is
 * read, so the float model never exists in full; {@link #apply} quantizes whatever is still float.
 */
@Component(service = Tuner.class)
@TechniqueName("qlora")
public final class QloraTechnique implements Tuner<QloraConfig> {

    private final Tuner<LoraConfig> lora;

    /** @param lora the {@code lora} tuner service */
    @Activate
    public QloraTechnique(@Reference(name = "lora", target = "(" + TechniqueName.PROPERTY + "=lora)") Tuner<?> lora) {
        this.lora = asLora(lora);
    }

    @SuppressWarnings("unchecked")
    private static Tuner<LoraConfig> asLora(Tuner<?> tuner) {
        if (tuner.configType() != LoraConfig.class) {
            throw new IllegalArgumentException("qlora needs the lora tuner, configured by " + LoraConfig.class.getName()
                    + "; the service found is configured by " + tuner.configType().getName());
        }
        return (Tuner<LoraConfig>) tuner;
    }

    @Override
    public Class<QloraConfig> configType() {
        return QloraConfig.class;
    }

    @Override
    public String description() {
        return "QLoRA: base linear modules frozen in NF4 (4-bit), trainable LoRA on top";
    }

    /** Quantizes each targeted module as it is read, unless it is NF4 already (a bitsandbytes folder). */
    @Override
    public LinearTransform loadTransform(QloraConfig config) {
        return (name, loaded) -> config.quantizes(name) ? quantized(name, loaded, config) : loaded;
    }

    @Override
    public Tuning apply(Model model, QloraConfig config) {
        return apply(model, config, 0);
    }

    /** Quantizes the base, then applies LoRA with the job's seed (LoRA draws A and its dropout masks from it). */
    @Override
    public Tuning apply(Model model, QloraConfig config, long seed) {
        quantize(model, config);
        return lora.apply(model, config.lora(), seed);
    }

    /** Quantizes the base as {@link #apply} does, then loads the LoRA factors (a QLoRA adapter is a LoRA adapter). */
    @Override
    public Tuning load(Model model, QloraConfig config, SequencedMap<String, Parameter> tensors) {
        quantize(model, config);
        return lora.load(model, config.lora(), tensors);
    }

    private static void quantize(Model model, QloraConfig config) {
        boolean any = false;
        for (var entry : List.copyOf(model.linears().entrySet())) {
            if (config.quantizes(entry.getKey())) {
                model.replaceLinear(entry.getKey(), quantized(entry.getKey(), entry.getValue(), config));
                any = true;
            }
        }
        if (!any) {
            throw new TechniqueException("qlora: quantizeModules " + config.quantizeModules() + " match no linear module; "
                    + "the model has e.g. " + model.linears().keySet().stream().limit(7).toList());
        }
    }

    /**
     * {@code module} in NF4: as it is when it is NF4 already; quantized when it is a plain dense
     * module (one weight [out, in]); refused otherwise, since replacing a wrapped module would drop
     * what wraps it.
     */
    private static Linear quantized(String name, Linear module, QloraConfig config) {
        if (!module.quantizedWeights().isEmpty()) {
            return module;
        }
        List<Parameter> parameters = module.parameters();
        if (parameters.size() != 1 || parameters.getFirst().shape().length != 2
                || parameters.getFirst().shape()[0] != module.outFeatures()) {
            throw new TechniqueException("qlora: module " + name + " is not a plain linear module (another tuner "
                    + "wraps it?); quantize the base before adding adapters");
        }
        return QuantizedLinear.nf4(parameters.getFirst(), config.blockSize(), config.doubleQuant());
    }
}
