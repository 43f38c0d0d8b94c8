package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.model.Model;
import io.gradus.api.model.Sampling;
import io.gradus.api.technique.Objective;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.BpeTrainer;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.Adapters;
import io.gradus.jobs.Evaluation;
import io.gradus.jobs.TokenizerAdapter;
import io.gradus.world.DefinitionTask;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What every technique's demo on the built-in world shares: the definition task ("What does the
 * word X mean?" answered with WordNet's definition, {@link DefinitionTask}) and its data files, the
 * SFT job that teaches it, the measurement of a model on it (held-out answer loss, a few sampled
 * answers), and the before/after printout. A technique's demo only says which tuner trains and how
 * its job loads the base model.
 */
final class DefinitionDemo {

    /** Training questions, in WordNet's order. */
    private static final int EXAMPLES = 6000;

    /** Held-out windows of the answer loss (128 tokens each): the same ones before and after. */
    private static final int HELD_OUT_WINDOWS = 60;

    private static final int SEQ_LEN = 128;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Demo.Context context;
    private final DefinitionTask task;
    private final Path data;
    private final List<Map<String, Object>> shown;

    private DefinitionDemo(Demo.Context context, DefinitionTask task, Path data) {
        this.context = context;
        this.task = task;
        this.data = data;
        this.shown = task.heldOut().subList(0, 4);
    }

    /** Loads the task and writes its training and held-out files into the demo's folder. */
    static DefinitionDemo prepare(Demo.Context context) throws IOException {
        DefinitionTask task = DefinitionTask.load(EXAMPLES);
        Path data = context.folder().resolve("data");
        DefinitionTask.writeJsonl(data.resolve("train.jsonl"), task.train());
        DefinitionTask.writeJsonl(data.resolve("heldout.jsonl"), task.heldOut());
        return new DefinitionDemo(context, task, data);
    }

    /** Held-out answer loss of a model, and its sampled answers to the questions shown. */
    record Measurement(double loss, List<String> answers) {}

    /** Loads the base model as the technique's job trains it (in float, or quantized as it loads). */
    @FunctionalInterface
    interface BaseLoader {
        LlamaModel load() throws IOException;
    }

    /**
     * The demo of one technique: measures the base, trains it with {@code tuner} in an SFT job,
     * applies the saved adapter to the base loaded again, measures that, prints both and returns the
     * summary.
     *
     * @param title the technique in the printout, e.g. "LoRA"
     * @param layout the adapter's file layout, for the printout
     * @param base how the job loads the base model
     * @param extra more fields for summary.json
     */
    Demo.Summary teach(String title, TechniqueRef tuner, String layout, BaseLoader base, Map<String, Object> extra)
            throws Exception {
        LlamaModel untrained = base.load();
        Measurement before = measure(untrained);
        context.out().printf("== %s + SFT on %,d questions about words ==%n", title, task.train().size());
        JobInfo run = sft(context, "demo-" + tuner.name() + "-sft", tuner,
                new JobSpec.DataSpec(data.resolve("train.jsonl").toString(), data.resolve("heldout.jsonl").toString()),
                context.folder().resolve("run"));
        LlamaModel tuned = base.load();
        Adapters.apply(tuned, Path.of(run.result()), context.local().host().catalog());
        Measurement after = measure(tuned);
        print(title + " SFT", before, after);
        context.out().println("adapter (" + layout + "): " + run.result());
        return summary(before, after, run, untrained, extra);
    }

    /**
     * SFT of the built-in model with {@code tuner} on {@code data}, as every demo's SFT runs: 300 steps
     * (unless the command line says otherwise) of 8 × 128 tokens at a peak learning rate of 3e-3,
     * warm-up 15 steps, cosine decay, seed 42.
     *
     * @param output the job's output folder
     * @return the finished job
     * @throws IllegalStateException if the job did not succeed, with its message
     */
    static JobInfo sft(Demo.Context context, String name, TechniqueRef tuner, JobSpec.DataSpec data, Path output)
            throws Exception {
        Hyperparameters hyper = new Hyperparameters(context.steps(300), 8, SEQ_LEN, 1, 3e-3, 15, "cosine",
                0.0, null, null, null, 1.0, null);
        JobSpec job = new JobSpec(name, context.baseModel().toString(), tuner, new TechniqueRef("sft", null, Map.of()),
                data, hyper, output.toString(), 42L);
        return context.train(job);
    }

    /**
     * The held-out answer loss of {@code model} (the SFT objective's loss on the answers, over the
     * same held-out windows every time) and its answers to four held-out questions, sampled mildly
     * with a fixed seed.
     */
    @SuppressWarnings("unchecked")
    Measurement measure(LlamaModel model) throws IOException {
        var kernels = context.kernels();
        Objective<Object> sft = (Objective<Object>) context.local().host().catalog().objective("sft", null).orElseThrow()
                .technique();
        Object config = JSON.convertValue(Map.of(), sft.configType());
        Path base = context.baseModel();
        try (HfTokenizer tokenizer = HfTokenizer.load(base)) {
            TokenizerAdapter text = TokenizerAdapter.of(tokenizer, model.config(), base);
            List<Example> examples = new ArrayList<>();
            for (var record : task.heldOut()) {
                examples.add(sft.encode(config, record, text));
            }
            double loss = Evaluation.loss(new LlamaEngine(model, kernels), examples, SEQ_LEN, HELD_OUT_WINDOWS).loss();
            int stop = tokenizer.encodePlain(BpeTrainer.IM_END)[0];
            List<String> answers = new ArrayList<>();
            Generator generator = new Generator(model, kernels, SEQ_LEN);
            for (var record : shown) {
                // The prompt as SFT encodes a conversation (one BOS whatever the template writes).
                int[] ids = text.encodeChat(List.of(new ChatMessage("user", DefinitionTask.userText(record))), true);
                // Mild, seeded sampling: greedy decoding of a model this small loops on its favourite phrase.
                int[] answer = generator.generate(ids, new Sampling(0.7, 0, 0.9, 40, 1), stop, t -> {});
                // One line each; a sample cut inside a multi-byte character decodes to U+FFFD: drop it.
                answers.add(tokenizer.decode(answer, true).replace('\n', ' ').replace("\uFFFD", "").strip());
            }
            return new Measurement(loss, answers);
        }
    }

    /** Prints the held-out answer loss before and after {@code training}, and the answers to the questions shown. */
    private void print(String training, Measurement before, Measurement after) {
        PrintWriter terminal = context.out();
        terminal.println("== before and after, on held-out words ==");
        terminal.printf("held-out answer loss: %.3f before, %.3f after %s (%s)%n", before.loss(), after.loss(), training,
                after.loss() < before.loss() ? "lower" : "NOT lower");
        for (int i = 0; i < shown.size(); i++) {
            terminal.println();
            terminal.println("Q: " + DefinitionTask.userText(shown.get(i)));
            terminal.println("   expected: " + DefinitionTask.answerText(shown.get(i)));
            terminal.println("   before:   " + before.answers().get(i));
            terminal.println("   after:    " + after.answers().get(i));
        }
        terminal.println();
    }

    /**
     * The summary every technique's demo writes: the held-out answer loss before and after, the
     * job's adapter and output folders, its steps, the parameters it trained (every tensor the
     * adapter holds) and the base model's parameters, plus {@code extra}.
     */
    private static Demo.Summary summary(Measurement before, Measurement after, JobInfo run, Model base, Map<String, Object> extra)
            throws IOException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("adapter", run.result());
        fields.put("job_output", run.output());
        fields.put("steps", run.step());
        fields.put("parameters_trained", adapterParameters(Path.of(run.result())));
        fields.put("parameters_base", base.parameterCount());
        fields.putAll(extra);
        return new Demo.Summary(Map.of("heldout_answer_loss", before.loss()), Map.of("heldout_answer_loss", after.loss()),
                fields);
    }

    /** The number of scalars in the safetensors files of an adapter folder: what the job trained. */
    private static long adapterParameters(Path adapter) throws IOException {
        long count = 0;
        try (Stream<Path> files = Files.list(adapter)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).toList()) {
                count += new SafetensorsFiles().read(file).values().stream().mapToLong(p -> p.size()).sum();
            }
        }
        return count;
    }
}
