package io.gradus.cli;

/**
 * A top-level command contributed by a module the command line does not depend on (the benchmarks
 * of {@code bench/}), found with {@link java.util.ServiceLoader}: the module names its
 * implementation in {@code META-INF/services/io.gradus.cli.CommandContribution}.
 */
public interface CommandContribution {

    /** A picocli {@code @Command} object, added as a subcommand of {@code gradus}. */
    Object command();
}
