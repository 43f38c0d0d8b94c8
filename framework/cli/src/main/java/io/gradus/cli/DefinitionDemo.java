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

    /**
     * Common nouns whose definitions are among the training questions (the only sense of each there;
     * pre-training's text holds them too): shown beside the held-out words, whose answers a model this
     * small cannot know, to show what the job made of words it did see.
     */
    private static final List<String> COMMON_WORDS = List.of("person", "animal", "bird", "food", "work");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Demo.Context context;
    private final DefinitionTask task;
    private final Path data;

    /** The training questions shown: one for each of {@link #COMMON_WORDS}. */
    private final List<Map<String, Object>> shownSeen;

    /** The held-out questions shown: the first four. */
    private final List<Map<String, Object>> shownHeldOut;

    private DefinitionDemo(Demo.Context context, DefinitionTask task, Path data) {
        this.context = context;
        this.task = task;
        this.data = data;
        this.shownSeen = COMMON_WORDS.stream().map(word -> trainingQuestion(task, word)).toList();
        this.shownHeldOut = task.heldOut().subList(0, 4);
    }

    /** The training question about the noun {@code word}. */
    private static Map<String, Object> trainingQuestion(DefinitionTask task, String word) {
        String question = DefinitionTask.questionText(word, "noun");
        return task.train().stream().filter(record -> DefinitionTask.userText(record).equals(question)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no training question \"" + question + "\""));
    }

    /** Loads the task and writes its training and held-out files into the demo's folder. */
    static DefinitionDemo prepare(Demo.Context context) throws IOException {
        DefinitionTask task = DefinitionTask.load(EXAMPLES);
        Path data = context.folder().resolve("data");
        DefinitionTask.writeJsonl(data.resolve("train.jsonl"), task.train());
        DefinitionTask.writeJsonl(data.resolve("heldout.jsonl"), task.heldOut());
        return new DefinitionDemo(context, task, data);
    }

    /**
     * Held-out answer loss of a model, and its sampled answers to the questions shown.
     *
     * @param seen answers to the training questions shown, in the order of {@link #COMMON_WORDS}
     * @param heldOut answers to the held-out questions shown
     */
    record Measurement(double loss, List<String> seen, List<String> heldOut) {}

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
        return summary(before, after, run, untrained, shownAnswers(before, after), extra);
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
     * same held-out windows every time) and its answers to the questions shown, sampled mildly with a
     * fixed seed.
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
            Generator generator = new Generator(model, kernels, SEQ_LEN);
            return new Measurement(loss, sample(shownSeen, generator, tokenizer, text),
                    sample(shownHeldOut, generator, tokenizer, text));
        }
    }

    /** The model's answers to {@code questions}, sampled mildly with a fixed seed, one line each. */
    private static List<String> sample(List<Map<String, Object>> questions, Generator generator, HfTokenizer tokenizer,
            TokenizerAdapter text) {
        int stop = tokenizer.encodePlain(BpeTrainer.IM_END)[0];
        List<String> answers = new ArrayList<>();
        for (var record : questions) {
            // The prompt as SFT encodes a conversation (one BOS whatever the template writes).
            int[] ids = text.encodeChat(List.of(new ChatMessage("user", DefinitionTask.userText(record))), true);
            // Mild, seeded sampling: greedy decoding of a model this small loops on its favourite phrase.
            int[] answer = generator.generate(ids, new Sampling(0.7, 0, 0.9, 40, 1), stop, t -> {});
            // One line each; a sample cut inside a multi-byte character decodes to U+FFFD, and byte tokens
            // sampled alone decode to control characters: drop both.
            answers.add(tokenizer.decode(answer, true).replace('\n', ' ').replaceAll("[\\p{Cntrl}\uFFFD]", "").strip());
        }
        return answers;
    }

    /**
     * Prints the held-out answer loss before and after {@code training}, and the answers to the
     * questions shown: the held-out words', then the common words'.
     */
    private void print(String training, Measurement before, Measurement after) {
        PrintWriter terminal = context.out();
        terminal.println("== before and after, on held-out words ==");
        terminal.printf("held-out answer loss: %.3f before, %.3f after %s (%s)%n", before.loss(), after.loss(), training,
                after.loss() < before.loss() ? "lower" : "NOT lower");
        printAnswers(shownHeldOut, before.heldOut(), after.heldOut());
        terminal.println("== before and after, on common words (seen in training: their definitions are training questions) ==");
        printAnswers(shownSeen, before.seen(), after.seen());
    }

    /** Prints each question with its expected answer and the answers {@code before} and {@code after}. */
    private void printAnswers(List<Map<String, Object>> questions, List<String> before, List<String> after) {
        PrintWriter terminal = context.out();
        for (int i = 0; i < questions.size(); i++) {
            terminal.println();
            terminal.println("Q: " + DefinitionTask.userText(questions.get(i)));
            terminal.println("   expected: " + DefinitionTask.answerText(questions.get(i)));
            terminal.println("   before:   " + before.get(i));
            terminal.println("   after:    " + after.get(i));
        }
        terminal.println();
    }

    /**
     * The answers shown, for summary.json: the common words' first, then the held-out ones', each as
     * {@code {"word", "held_out", "question", "expected", "before", "after"}}.
     */
    private List<Map<String, Object>> shownAnswers(Measurement before, Measurement after) {
        List<Map<String, Object>> answers = new ArrayList<>();
        for (int i = 0; i < shownSeen.size(); i++) {
            answers.add(shownAnswer(shownSeen.get(i), false, before.seen().get(i), after.seen().get(i)));
        }
        for (int i = 0; i < shownHeldOut.size(); i++) {
            answers.add(shownAnswer(shownHeldOut.get(i), true, before.heldOut().get(i), after.heldOut().get(i)));
        }
        return answers;
    }

    private static Map<String, Object> shownAnswer(Map<String, Object> question, boolean heldOut, String before, String after) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("word", DefinitionTask.word(question));
        answer.put("held_out", heldOut);
        answer.put("question", DefinitionTask.userText(question));
        answer.put("expected", DefinitionTask.answerText(question));
        answer.put("before", before);
        answer.put("after", after);
        return answer;
    }

    /**
     * The summary every technique's demo writes: the held-out answer loss before and after, the
     * job's adapter and output folders, its steps, the parameters it trained (every tensor the
     * adapter holds), the base model's parameters and the answers shown, plus {@code extra}.
     */
    private static Demo.Summary summary(Measurement before, Measurement after, JobInfo run, Model base,
            List<Map<String, Object>> answers, Map<String, Object> extra) throws IOException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("adapter", run.result());
        fields.put("job_output", run.output());
        fields.put("steps", run.step());
        fields.put("parameters_trained", adapterParameters(Path.of(run.result())));
        fields.put("parameters_base", base.parameterCount());
        fields.put("answers", answers);
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
