package io.gradus.cli;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.Adapters;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** The options of commands that run a model: which model, which kernels, which adapter. */
final class ModelOptions {

    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder (default: the built-in model of gradus pretrain).")
    Path model;

    @Mixin
    BackendOption backend;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "Apply an adapter in PEFT's layout (adapter_config.json, adapter_model.safetensors).")
    Path adapter;

    @Option(names = "--merge", description = "With --adapter: fold it into the base weights first (same results, base-model speed).")
    boolean merge;

    /** The model folder: --model, or the built-in one. */
    Path folder(CommandLine commandLine) {
        return DefaultModel.orDefault(model, commandLine);
    }

    /** The kernels to run on, with the adapter (if any) applied to {@code llama} and merged if asked. */
    KernelBackend prepare(EmbeddedHost quiet, LlamaModel llama) throws Exception {
        KernelBackend kernels = quiet.kernels(backend.name);
        if (adapter != null) {
            var tuning = Adapters.apply(llama, adapter, quiet.host().catalog());
            if (merge) {
                tuning.merge(kernels);
            }
        }
        return kernels;
    }
}
