package io.gradus.cli;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ServiceLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** The {@code gradus} command line. Each subcommand lives in its own class of this package. */
@Command(
        name = "gradus",
        mixinStandardHelpOptions = true,
        versionProvider = GradusVersion.class,
        description = "Fine-tune Llama-architecture language models with hot-swappable technique bundles.",
        subcommands = {StartCommand.class, BundlesCommand.class, ForwardCommand.class, GenerateCommand.class, ScoreCommand.class,
            QuantizeCommand.class, KernelsCommand.class, TrainCommand.class, JobsCommand.class, TokenizeCommand.class,
            DataCommand.class, PretrainCommand.class, DemoCommand.class, NewTechniqueCommand.class, CommandLine.HelpCommand.class})
public final class Gradus implements Runnable {

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, also used by tests. */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new Gradus());
        ServiceLoader.load(CommandContribution.class, Gradus.class.getClassLoader())
                .forEach(contribution -> commandLine.addSubcommand(contribution.command()));
        return commandLine
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setParameterExceptionHandler(Gradus::reportMisuse)
                .setExecutionExceptionHandler(Gradus::reportFailure);
    }

    /**
     * A failed command prints what went wrong in one line and exits with 1; the stack trace is for
     * developers and only printed when {@code GRADUS_DEBUG} is set.
     */
    private static int reportFailure(Exception e, CommandLine commandLine, CommandLine.ParseResult parseResult) {
        commandLine.getErr().println("gradus " + commandLine.getCommandName() + ": " + describe(e));
        if (System.getenv("GRADUS_DEBUG") != null) {
            e.printStackTrace(commandLine.getErr());
        }
        return 1;
    }

    /**
     * An exception's message for a person. The file system's exceptions often carry only the path
     * (the reason is their class), so the reason is put into words here.
     */
    static String describe(Exception e) {
        return switch (e) {
            case NoSuchFileException f when f.getReason() == null -> f.getFile() + ": no such file or folder";
            case AccessDeniedException f when f.getReason() == null -> f.getFile() + ": permission denied";
            case FileAlreadyExistsException f when f.getReason() == null -> f.getFile() + ": already exists";
            case FileSystemException f when f.getReason() == null -> f.getFile() + ": cannot be read or written";
            default -> e.getMessage() != null ? e.getMessage()
                    : "an internal error without a message; run with GRADUS_DEBUG=1 to see where it happened";
        };
    }

    /**
     * A command line that does not parse (or an option whose value is refused) gets one line saying
     * what is wrong and where the help is, not the whole usage.
     */
    private static int reportMisuse(CommandLine.ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        String name = command.getCommandSpec().qualifiedName();
        command.getErr().println(name + ": " + e.getMessage());
        command.getErr().println("See '" + name + " --help'.");
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
