package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.jobs.BuiltInModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code gradus demo [TECHNIQUE]}: one technique, end to end, on the built-in world. Pre-trains the
 * base model if there is none yet, then runs the technique's {@link Demo}: before, training, after,
 * and {@code summary.json} = {"technique", "before", "after", ...} in the demo's folder.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = "Pre-train the built-in model (first time only), then show one technique on it, before and after.",
        modelTransformer = DemoCommand.ListDemos.class)
final class DemoCommand implements Callable<Integer> {

    /** Every demo, by technique; the first is the default. */
    private static final List<Demo> DEMOS = List.of(new LoraSftDemo(), new AdaptersSftDemo(), new QloraSftDemo(),
            new RewardDemo(), new DpoDemo(), new PpoDemo());

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "TECHNIQUE",
            description = "The technique to show (default: ${DEFAULT-VALUE}).", defaultValue = "lora")
    String technique;

    @Option(names = "--out", paramLabel = "DIR",
            description = "The demo's folder (data, job output, summary.json). Default: ${GRADUS_CACHE:-~/.cache/gradus}/demos/TECHNIQUE.")
    Path out;

    @Option(names = "--steps", description = "Training steps (default: the demo's own).")
    Integer steps;

    @Mixin
    BackendOption backend;

    /** Lists every demo and what it shows in {@code gradus demo --help}. */
    static final class ListDemos implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec command) {
            List<String> lines = new ArrayList<>(List.of(command.usageMessage().description()));
            DEMOS.forEach(d -> lines.add(String.format("  %-9s %s", d.technique(), d.description())));
            lines.add("Writes DIR/summary.json: {\"technique\", \"before\", \"after\", ...}.");
            command.usageMessage().description(lines.toArray(String[]::new));
            return command;
        }
    }

    /** A demo's folder when --out is not given: ${GRADUS_CACHE:-~/.cache/gradus}/demos/TECHNIQUE. */
    static Path defaultFolder(String technique) {
        return BuiltInModel.runFolder().getParent().getParent().resolve("demos").resolve(technique);
    }

    @Override
    public Integer call() throws Exception {
        Demo demo = DEMOS.stream().filter(d -> d.technique().equals(technique)).findFirst()
                .orElseThrow(() -> new ParameterException(spec.commandLine(), "no demo for '" + technique + "'; demos: "
                        + DEMOS.stream().map(Demo::technique).collect(Collectors.joining(", "))));
        PrintWriter terminal = spec.commandLine().getOut();
        Path base = BuiltInModel.modelFolder();
        if (!Files.isRegularFile(base.resolve("config.json"))) {
            terminal.println("== pre-training the built-in base model (first run only) ==");
            int exit = spec.parent().commandLine().execute("pretrain", "--backend", backend.name);
            if (exit != 0) {
                return exit;
            }
        } else {
            terminal.println("== base model: " + base + " ==");
        }
        Path folder = (out != null ? out : defaultFolder(technique)).toAbsolutePath().normalize();
        long started = System.nanoTime();
        try (EmbeddedHost local = new EmbeddedHost(backend.name);
                JobClient jobs = JobClient.runningOr(local);
                InterruptHook interrupt = InterruptHook.install(jobs, spec.commandLine().getErr())) {
            Demo.Context context = new Demo.Context(folder, base, local, local.kernels(backend.name), jobs, terminal, steps);
            writeSummary(demo.technique(), demo.run(context), context, started);
        }
        return 0;
    }

    /**
     * Writes {@code summary.json} = {"technique", "before", "after", extra..., "wall_seconds"} into the
     * demo's folder and says where.
     *
     * @param started {@link System#nanoTime()} when the demo began
     */
    static void writeSummary(String technique, Demo.Summary summary, Demo.Context context, long started) throws IOException {
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("technique", technique);
        file.put("before", summary.before());
        file.put("after", summary.after());
        file.putAll(summary.extra());
        file.put("wall_seconds", Math.round((System.nanoTime() - started) / 1e8) / 10.0);
        Files.createDirectories(context.folder());
        JSON.writerWithDefaultPrettyPrinter().writeValue(context.folder().resolve("summary.json").toFile(), file);
        context.out().println("summary: " + context.folder().resolve("summary.json"));
    }
}
