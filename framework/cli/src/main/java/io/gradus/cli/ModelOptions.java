package io.gradus.cli;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.Adapters;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** The options of commands that run a model: which model, which kernels, which adapter. */
final class ModelOptions {

    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder (default: the built-in model of gradus pretrain); one in bitsandbytes' NF4 layout stays NF4.")
    Path model;

    @Mixin
    BackendOption backend;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "Apply an adapter: a LoRA adapter in PEFT's layout (adapter_config.json, adapter_model.safetensors) "
                    + "or a bottleneck adapter in the AdapterHub adapters layout (adapter_config.json, adapter.safetensors).")
    Path adapter;

    @Option(names = "--merge",
            description = "With a LoRA --adapter: fold it into the base weights first (same results, base-model speed; "
                    + "on an NF4 base the adapted weights become float: dequantized, plus the LoRA product).")
    boolean merge;

    /** The model folder: --model, or the built-in one. */
    Path folder(CommandLine commandLine) {
        return DefaultModel.orDefault(model, commandLine);
    }

    /**
     * The kernels to run on, with the adapter (if any) applied to {@code llama} and merged if asked;
     * says on {@code err} when the model's weights are NF4 and what merging does to them.
     *
     * @throws IllegalArgumentException if --merge is asked of an adapter that cannot be merged
     */
    KernelBackend prepare(EmbeddedHost quiet, LlamaModel llama, PrintWriter err) throws Exception {
        KernelBackend kernels = quiet.kernels(backend.name);
        List<QuantizedWeight> quantized = llama.quantizedWeights();
        if (!quantized.isEmpty()) {
            long values = quantized.stream().mapToLong(QuantizedWeight::size).sum();
            long bytes = quantized.stream().mapToLong(QuantizedWeight::bytes).sum();
            err.printf("gradus: %d linear weights stay in NF4: %,d bytes for %,d weights (%,d in float32)%n",
                    quantized.size(), bytes, values, 4 * values);
        }
        if (adapter != null) {
            var tuning = Adapters.apply(llama, adapter, quiet.host().catalog());
            if (merge) {
                if (!tuning.merge(kernels)) {
                    throw new IllegalArgumentException("--merge: the adapter in " + adapter + " cannot be folded into the "
                            + "base weights (its technique adds modules of its own, as bottleneck adapters do); leave "
                            + "--merge out");
                }
                if (!quantized.isEmpty()) {
                    err.println("gradus: merged into the NF4 base: each adapted weight is now float32, dequantized plus "
                            + "the LoRA product (the same logits as unmerged, up to float rounding)");
                }
            }
        }
        err.flush();
        return kernels;
    }
}
