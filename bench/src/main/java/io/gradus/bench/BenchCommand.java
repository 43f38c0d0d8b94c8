package io.gradus.bench;

import io.gradus.cli.CommandContribution;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code gradus bench}: the benchmarks, each printing its figures as JSON lines. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Measure speed: training and inference tokens/s, matrix products in GFLOP/s, or every kernel per backend.",
        subcommands = {BenchTrainCommand.class, BenchMatmulCommand.class, BenchKernelsCommand.class})
public final class BenchCommand implements Runnable, CommandContribution {

    @Spec
    CommandSpec spec;

    @Override
    public Object command() {
        return this;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
