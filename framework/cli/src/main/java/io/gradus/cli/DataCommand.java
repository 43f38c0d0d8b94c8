package io.gradus.cli;

import io.gradus.api.data.Example;
import io.gradus.api.job.JobSpec;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.BuiltInModel;
import io.gradus.jobs.JobData;
import io.gradus.jobs.JobFiles;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code gradus data JOB}: the first records of a job's data as its objective encodes them, each
 * token marked trained or masked: what the model will be trained on, before any training runs.
 */
@Command(
        name = "data",
        mixinStandardHelpOptions = true,
        description = {
            "Show the first records of a job's data as the job's objective encodes them: each token with its id,",
            "the tokens that take a loss marked (green on a terminal, in [brackets] otherwise). A preference pair",
            "(reward) shows its chosen and rejected sequences in turn, and whether it is too long for hyper.seqLen.",
            "The objective comes from the deploy folder's technique bundles, as for gradus train."
        })
final class DataCommand implements Callable<Integer> {

    private static final String GREEN = "\u001b[32m";
    private static final String GREY = "\u001b[90m";
    private static final String RESET = "\u001b[0m";

    /** When to colour the tokens. */
    enum Color { AUTO, ALWAYS, NEVER }

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "JOB", description = "The job file (.json, .yaml or .yml).")
    Path jobFile;

    @Option(names = "--records", paramLabel = "N", defaultValue = "3", description = "How many records to show. Default: ${DEFAULT-VALUE}.")
    int records;

    @Option(names = "--eval", description = "Show the held-out data (data.eval) instead of the training data.")
    boolean eval;

    @Option(names = "--color", paramLabel = "WHEN", defaultValue = "auto",
            description = "Colour the tokens: auto (on a terminal, unless NO_COLOR is set), always or never. Default: ${DEFAULT-VALUE}.")
    Color color;

    @Override
    public Integer call() throws Exception {
        if (records < 1) {
            throw new ParameterException(spec.commandLine(), "--records must be at least 1, was " + records);
        }
        Path base = jobFile.toAbsolutePath().getParent();
        JobSpec job = JobFiles.read(JobFiles.text(jobFile), jobFile.toString());
        // The default output is never written here; only the model and data paths matter.
        JobSpec resolved = JobFiles.resolve(job, base, base.resolve("output"));
        if (eval && resolved.data().eval() == null) {
            throw new ParameterException(spec.commandLine(), "--eval: the job names no held-out data (data.eval)");
        }
        Path file = Path.of(eval ? resolved.data().eval() : resolved.data().train());
        boolean colours = color == Color.ALWAYS || color == Color.AUTO && System.console() != null
                && System.console().isTerminal() && System.getenv("NO_COLOR") == null;
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddedHost host = new EmbeddedHost();
                JobData data = JobData.open(resolved, host.host().catalog(), BuiltInModel.modelFolder())) {
            List<JobData.Record> shown = data.read(file, records);
            out.printf("job %s: objective %s %s%n", resolved.name(), data.objective().name(), data.objective().version());
            out.printf("%s: the first %d record%s as the objective encodes them%n", file, shown.size(),
                    shown.size() == 1 ? "" : "s");
            out.println("legend: " + (colours ? GREEN + "token(id)" + RESET + " trained, " + GREY + "token(id)" + RESET
                    : "[token(id)] trained, token(id)") + " masked (no loss)");
            int seqLen = resolved.hyper().seqLen();
            for (JobData.Record record : shown) {
                out.println();
                if (data.grouped()) {
                    // A group (a preference pair: chosen, then rejected): a heading, then each sequence.
                    out.printf("line %d: %d sequences trained together%s%s%n", record.line(), record.sequences().size(),
                            values(record), data.leftOut(record, seqLen)
                                    ? "; left out of training: a sequence is longer than hyper.seqLen " + seqLen : "");
                }
                for (int s = 0; s < record.sequences().size(); s++) {
                    Example example = record.sequences().get(s);
                    int trained = 0;
                    for (boolean target : example.targets()) {
                        trained += target ? 1 : 0;
                    }
                    out.printf("%s %d tokens, %d trained%s%n", data.grouped() ? "sequence " + (s + 1) + ":"
                            : "line " + record.line() + ":", example.ids().length, trained, data.trainsOnText(example) ? ""
                                    : "; warning: no text trains, only special tokens (an empty completion or answer?)");
                    out.println(tokens(example, data.tokenizer().orElse(null), colours));
                }
            }
        }
        out.flush();
        return 0;
    }

    /** The numbers a group carries for its objective ({@code margin}), as ", margin 0.5". */
    private static String values(JobData.Record record) {
        return record.values().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> ", " + e.getKey() + " " + e.getValue()).collect(Collectors.joining());
    }

    /**
     * The example's tokens, {@code text(id)} separated by spaces, the trained ones marked; only
     * {@code (id)} without a tokenizer (a model folder without {@code tokenizer.json}).
     */
    static String tokens(Example example, HfTokenizer tokenizer, boolean colours) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < example.ids().length; i++) {
            int id = example.ids()[i];
            String token = (tokenizer == null ? "" : visible(tokenizer.decode(new int[] {id}, false))) + "(" + id + ")";
            boolean trained = example.targets()[i];
            if (i > 0) {
                line.append(' ');
            }
            if (colours) {
                line.append(trained ? GREEN : GREY).append(token).append(RESET);
            } else {
                line.append(trained ? "[" + token + "]" : token);
            }
        }
        return line.toString();
    }

    /** A token's text with line breaks, tabs and other control characters written as escapes. */
    static String visible(String text) {
        StringBuilder out = new StringBuilder();
        for (char c : text.toCharArray()) {
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
