package io.gradus.cli;

import picocli.CommandLine.Option;

/** The {@code --backend} option of commands that run kernels; its default follows -Dgradus.kernel.backend. */
public final class BackendOption {

    @Option(names = "--backend", defaultValue = "${sys:gradus.kernel.backend:-auto}", paramLabel = "NAME",
            description = "Kernels: auto (TornadoVM when this JVM runs with it and its first kernel works, else cpu), cpu or tornado. Default: ${DEFAULT-VALUE}.")
    public String name;
}
