package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.BpeTrainer;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.Adapters;
import io.gradus.jobs.Evaluation;
import io.gradus.jobs.JobRunner;
import io.gradus.jobs.TokenizerAdapter;
import io.gradus.world.WordNet;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradus demo}: the whole path on the built-in world. Pre-trains the base model if there is
 * none yet, fine-tunes it with LoRA + SFT to answer "What does the word X mean?" from WordNet, and
 * shows held-out loss and answers before and after.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Pre-train the built-in model (first time only), fine-tune it with LoRA + SFT to define words,",
            "and compare it before and after on held-out words."
        })
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    BackendOption backend;

    @Option(names = "--steps", defaultValue = "300", description = "SFT steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--examples", defaultValue = "6000", description = "Training questions. Default: ${DEFAULT-VALUE}.")
    int examples;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        PrintStream terminal = System.out;
        Path base = DefaultModel.runFolder().resolve("model");
        if (!Files.isRegularFile(base.resolve("config.json"))) {
            terminal.println("== 1/3 pre-training the built-in base model (first run only) ==");
            int exit = spec.parent().commandLine().execute("pretrain");
            if (exit != 0) {
                return exit;
            }
        } else {
            terminal.println("== 1/3 base model: " + base + " ==");
        }

        Path folder = DefaultModel.runFolder().getParent().resolve("demo-sft");
        List<Map<String, Object>> train = new ArrayList<>();
        List<Map<String, Object>> heldOut = new ArrayList<>();
        for (WordNet.Entry e : WordNet.entries()) {
            var record = question(e);
            if (e.heldOut()) {
                heldOut.add(record);
            } else if (train.size() < examples && e.words().getFirst().indexOf(' ') < 0) {
                train.add(record);
            }
        }
        writeJsonl(folder.resolve("train.jsonl"), train);
        writeJsonl(folder.resolve("heldout.jsonl"), heldOut);

        try (QuietHost quiet = new QuietHost()) {
            TechniqueCatalog catalog = quiet.host().catalog();
            KernelBackend kernels = quiet.kernels(backend.name);
            List<Map<String, Object>> shown = heldOut.subList(0, 4);
            Report before = report(base, null, heldOut, shown, kernels, catalog);

            terminal.printf("== 2/3 LoRA + SFT on %,d questions about words ==%n", train.size());
            Hyperparameters hyper = new Hyperparameters(steps, 8, 128, 1, 3e-3, 15, "cosine", 0.0, null, null, null, 1.0, null);
            JobSpec job = new JobSpec("demo-lora-sft", base.toString(),
                    new TechniqueRef("lora", null, Map.of("r", 16, "loraAlpha", 32, "targetModules", List.of("all-linear"))),
                    new TechniqueRef("sft", null, Map.of()),
                    new JobSpec.DataSpec(folder.resolve("train.jsonl").toString(), folder.resolve("heldout.jsonl").toString()),
                    hyper, folder.resolve("run").toString(), 42L);
            JobRunner.Outcome outcome = new JobRunner(catalog, quiet.host().events(), kernels, terminal, base)
                    .run(job, folder, false);
            Report after = report(base, outcome.result(), heldOut, shown, kernels, catalog);

            terminal.println("== 3/3 before and after, on held-out words ==");
            terminal.printf("held-out answer loss: %.3f before, %.3f after LoRA SFT (%s)%n", before.loss, after.loss,
                    after.loss < before.loss ? "lower" : "NOT lower");
            for (int i = 0; i < shown.size(); i++) {
                terminal.println();
                terminal.println("Q: " + userText(shown.get(i)));
                terminal.println("   expected: " + answerText(shown.get(i)));
                terminal.println("   before:   " + before.answers.get(i));
                terminal.println("   after:    " + after.answers.get(i));
            }
            terminal.println();
            terminal.println("adapter (PEFT layout): " + outcome.result());
        }
        return 0;
    }

    private record Report(double loss, List<String> answers) {}

    /** Held-out loss on the answers and greedy answers to a few questions, with or without the adapter. */
    @SuppressWarnings("unchecked")
    private static Report report(Path base, Path adapter, List<Map<String, Object>> heldOut, List<Map<String, Object>> shown,
            KernelBackend kernels, TechniqueCatalog catalog) throws IOException {
        LlamaModel model = LlamaModel.load(base);
        if (adapter != null) {
            Adapters.apply(model, adapter, catalog).merge(kernels);
        }
        Objective<Object> sft = (Objective<Object>) catalog.objective("sft", null).orElseThrow().technique();
        Object config = JSON.convertValue(Map.of(), sft.configType());
        try (HfTokenizer tokenizer = HfTokenizer.load(base)) {
            TokenizerAdapter text = TokenizerAdapter.of(tokenizer, model.config(), base);
            List<Example> examples = new ArrayList<>();
            for (var record : heldOut) {
                examples.add(sft.encode(config, record, text));
            }
            double loss = Evaluation.loss(new LlamaEngine(model, kernels), kernels, examples, 128, 60).loss();
            int stop = tokenizer.encodePlain(BpeTrainer.IM_END)[0];
            List<String> answers = new ArrayList<>();
            Generator generator = new Generator(model, kernels, 128);
            for (var record : shown) {
                String prompt = text.renderChat(List.of(new ChatMessage("user", userText(record))), true);
                int[] ids = tokenizer.encode(prompt);
                // Mild, seeded sampling: greedy decoding of a model this small loops on its favourite phrase.
                int[] answer = generator.generate(ids, new Generator.Sampling(0.7, 0, 0.9, 1, 40), stop, t -> {});
                // One line each; a sample cut inside a multi-byte character decodes to U+FFFD: drop it.
                answers.add(tokenizer.decode(answer, true).replace('\n', ' ').replace("\uFFFD", "").strip());
            }
            return new Report(loss, answers);
        }
    }

    /** "What does the word 'bank' mean?" → its WordNet definition, as a chat record. */
    private static Map<String, Object> question(WordNet.Entry e) {
        String q = "What does the word '" + e.words().getFirst() + "' mean (" + e.partOfSpeech() + ")?";
        return Map.of("messages", List.of(Map.of("role", "user", "content", q),
                Map.of("role", "assistant", "content", e.definition())));
    }

    @SuppressWarnings("unchecked")
    private static String userText(Map<String, Object> record) {
        return ((List<Map<String, String>>) record.get("messages")).get(0).get("content");
    }

    @SuppressWarnings("unchecked")
    private static String answerText(Map<String, Object> record) {
        return ((List<Map<String, String>>) record.get("messages")).get(1).get("content");
    }

    private static void writeJsonl(Path file, List<Map<String, Object>> records) throws IOException {
        Files.createDirectories(file.getParent());
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (var record : records) {
                out.write(JSON.writeValueAsString(record));
                out.newLine();
            }
        }
    }
}
