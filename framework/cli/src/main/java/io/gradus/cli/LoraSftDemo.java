package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
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
import io.gradus.jobs.TokenizerAdapter;
import io.gradus.world.DefinitionTask;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code gradus demo lora}: teaches the built-in model with LoRA + SFT to answer "What does the word
 * X mean?" from WordNet, and compares the held-out answer loss and a few answers before and after.
 */
final class LoraSftDemo implements Demo {

    private static final int EXAMPLES = 6000;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String technique() {
        return "lora";
    }

    @Override
    public String description() {
        return "LoRA + SFT: answer \"What does the word X mean?\" with WordNet's definitions";
    }

    @Override
    public Summary run(Context context) throws Exception {
        var terminal = context.out();
        DefinitionTask task = DefinitionTask.load(EXAMPLES);
        Path data = context.folder().resolve("data");
        DefinitionTask.writeJsonl(data.resolve("train.jsonl"), task.train());
        DefinitionTask.writeJsonl(data.resolve("heldout.jsonl"), task.heldOut());
        TechniqueCatalog catalog = context.local().host().catalog();
        List<Map<String, Object>> shown = task.heldOut().subList(0, 4);
        Report before = report(context.baseModel(), null, task.heldOut(), shown, context.kernels(), catalog);

        terminal.printf("== LoRA + SFT on %,d questions about words ==%n", task.train().size());
        Hyperparameters hyper = new Hyperparameters(context.steps(300), 8, 128, 1, 3e-3, 15, "cosine", 0.0, null, null, null,
                1.0, null);
        JobSpec job = new JobSpec("demo-lora-sft", context.baseModel().toString(),
                new TechniqueRef("lora", null, Map.of("r", 16, "loraAlpha", 32, "targetModules", List.of("all-linear"))),
                new TechniqueRef("sft", null, Map.of()),
                new JobSpec.DataSpec(data.resolve("train.jsonl").toString(), data.resolve("heldout.jsonl").toString()),
                hyper, context.folder().resolve("run").toString(), 42L);
        JobFollower follower = new JobFollower(context.jobs(), terminal);
        JobInfo run = follower.run(job, new SubmitOptions(context.folder().toString(), false, true, false));
        if (run.state() != JobState.SUCCEEDED) {
            throw new IllegalStateException("the demo's training job " + run.state().name().toLowerCase() + ": " + run.message());
        }
        Report after = report(context.baseModel(), Path.of(run.result()), task.heldOut(), shown, context.kernels(), catalog);

        terminal.println("== before and after, on held-out words ==");
        terminal.printf("held-out answer loss: %.3f before, %.3f after LoRA SFT (%s)%n", before.loss, after.loss,
                after.loss < before.loss ? "lower" : "NOT lower");
        for (int i = 0; i < shown.size(); i++) {
            terminal.println();
            terminal.println("Q: " + DefinitionTask.userText(shown.get(i)));
            terminal.println("   expected: " + DefinitionTask.answerText(shown.get(i)));
            terminal.println("   before:   " + before.answers.get(i));
            terminal.println("   after:    " + after.answers.get(i));
        }
        terminal.println();
        terminal.println("adapter (PEFT layout): " + run.result());
        return new Summary(Map.of("heldout_answer_loss", before.loss), Map.of("heldout_answer_loss", after.loss),
                Map.of("adapter", run.result(), "job_output", run.output(), "steps", run.step()));
    }

    private record Report(double loss, List<String> answers) {}

    /** Held-out loss on the answers and sampled answers to a few questions, with or without the adapter. */
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
                String prompt = text.renderChat(List.of(new ChatMessage("user", DefinitionTask.userText(record))), true);
                int[] ids = tokenizer.encode(prompt);
                // Mild, seeded sampling: greedy decoding of a model this small loops on its favourite phrase.
                int[] answer = generator.generate(ids, new Generator.Sampling(0.7, 0, 0.9, 1, 40), stop, t -> {});
                // One line each; a sample cut inside a multi-byte character decodes to U+FFFD: drop it.
                answers.add(tokenizer.decode(answer, true).replace('\n', ' ').replace("\uFFFD", "").strip());
            }
            return new Report(loss, answers);
        }
    }
}
