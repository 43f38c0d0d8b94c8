package io.gradus.cli;

import io.gradus.api.data.SequenceGroup;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.CompletionLogProbs;
import io.gradus.cli.DemoPairs.Preferences;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.GroupedExamples;
import io.gradus.jobs.Adapters;
import io.gradus.jobs.JobFiles;
import io.gradus.world.DefinitionPairs;
import io.gradus.world.DefinitionPairs.Kind;
import io.gradus.world.DefinitionTask;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * {@code gradus demo dpo}: the usual SFT → DPO path on the built-in world. The pairs are the reward
 * demo's, "bank (noun):" completed with the word's definition rather than another word's, except that
 * the word's own definition is rejected unfinished, without its last word and closed with a period as
 * the whole one is, rather than shuffled ({@link Kind#UNFINISHED}): a model that scores by summed
 * log-probability prefers that shorter text, and nothing but the missing word tells it apart. A LoRA SFT on the chosen
 * completions, as every demo's SFT runs ({@link DefinitionDemo#sft}), teaches the built-in model to
 * complete the prompt with a definition and stop; a DPO job then trains that adapter further on the
 * pairs, against the SFT model as its reference. Measured before and after DPO ({@link DemoPairs}):
 * the held-out preference accuracy, the share of held-out pairs whose chosen completion has the
 * higher summed log-probability under the model, by kind of rejected definition, and the held-out
 * reward margin against that reference.
 */
final class DpoDemo extends Demo {

    private static final int STEPS = 300;
    private static final double BETA = 0.1;

    DpoDemo() {
        super("dpo", "LoRA + SFT, then DPO: prefer a word's definition to another word's or one left unfinished");
    }

    @Override
    Summary run(Context context) throws Exception {
        var terminal = context.out();
        DefinitionPairs pairs = DefinitionPairs.load(DemoPairs.TRAIN_PAIRS, 42, Kind.UNFINISHED);
        DemoPairs measured = DemoPairs.write(context, pairs, "dpo", DemoPairs.SEQ_LEN);
        Path data = context.folder().resolve("data");
        List<Map<String, Object>> completions = pairs.train().stream()
                .map(p -> Map.of("prompt", p.get("prompt"), "completion", p.get("chosen"))).toList();
        DefinitionTask.writeJsonl(data.resolve("sft.jsonl"), completions);
        Preferences base = preferences(LlamaModel.load(context.baseModel()), measured, context.kernels());

        terminal.printf("== LoRA + SFT on %,d definitions: the start DPO trains further ==%n", completions.size());
        Path sft = Path.of(DefinitionDemo.sft(context, "demo-dpo-sft", LoraSftDemo.TUNER,
                new JobSpec.DataSpec(data.resolve("sft.jsonl").toString(), null), context.folder().resolve("sft")).result());
        Preferences before = preferences(withAdapter(context, sft), measured, context.kernels());

        terminal.printf("== DPO on %,d preference pairs about words, from the SFT adapter ==%n", pairs.train().size());
        Path jobFile = writeJobFile(context);
        JobInfo dpo = succeeded(new JobFollower(context.jobs(), terminal).submitAndFollow(
                JobFiles.withField(Files.readString(jobFile), jobFile.toString(), "adapter", sft.toString()),
                jobFile.toString(), new SubmitOptions(context.folder().toString(), false, true, false)));
        Preferences after = preferences(withAdapter(context, Path.of(dpo.result())), measured, context.kernels());
        // The reference is the SFT model: a pair's reward margin is β·((π_c − π_r) after − (π_c − π_r) before).
        double margin = 0;
        for (int p = 0; p < after.pairs(); p++) {
            margin += BETA * (after.differences()[p] - before.differences()[p]) / after.pairs();
        }

        terminal.println("== before and after DPO, on held-out pairs (synsets no training saw) ==");
        terminal.printf("held-out preference accuracy (chosen completion more likely than rejected): %.3f before (the SFT "
                + "model; the base model %.3f), %.3f after DPO (%d pairs)%n", before.accuracy(), base.accuracy(),
                after.accuracy(), after.pairs());
        terminal.printf("  against another word's definition: %.3f before, %.3f after%n", before.accuracy(Kind.OTHER_WORD),
                after.accuracy(Kind.OTHER_WORD));
        terminal.printf("  against it without its last word:  %.3f before, %.3f after%n", before.accuracy(Kind.UNFINISHED),
                after.accuracy(Kind.UNFINISHED));
        terminal.printf("mean log π(chosen) − log π(rejected): %.2f → %.2f against another word's definition, %.2f → %.2f "
                + "against an unfinished one (the base model: %.2f, %.2f)%n", before.mean(Kind.OTHER_WORD),
                after.mean(Kind.OTHER_WORD), before.mean(Kind.UNFINISHED), after.mean(Kind.UNFINISHED),
                base.mean(Kind.OTHER_WORD), base.mean(Kind.UNFINISHED));
        terminal.printf("held-out reward margin β·Δ(log π_c − log π_r) against the SFT reference: %.3f%n", margin);
        terminal.println("SFT adapter: " + sft);
        terminal.println("DPO adapter (PEFT layout): " + dpo.result());
        terminal.println("DPO job file: " + jobFile);

        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("adapter", dpo.result());
        extra.put("sft_adapter", sft.toString());
        extra.put("job_file", jobFile.toString());
        extra.put("job_output", dpo.output());
        extra.put("steps", dpo.step());
        extra.put("beta", BETA);
        extra.put("train_pairs", pairs.train().size());
        extra.put("heldout_pairs_measured", after.pairs());
        extra.put("base_model", figures(base, null));
        return new Summary(figures(before, 0.0), figures(after, margin), extra);
    }

    /**
     * The DPO job, as a file {@code gradus train FILE --adapter SFT} runs as it is: TRL's sigmoid loss
     * at β 0.1 against the initial policy, batches of 8 pairs, the held-out pairs as evaluation data.
     */
    private static Path writeJobFile(Context context) throws IOException {
        Path file = context.folder().resolve("dpo.yaml");
        Files.writeString(file, String.format(Locale.ROOT, """
                # The demo's DPO job: gradus train dpo.yaml --adapter sft/adapter trains the SFT adapter further.
                name: demo-dpo
                model: %s
                objective: {name: dpo, config: {beta: %s, lossType: sigmoid, reference: initial}}
                data: {train: data/train.jsonl, eval: data/heldout.jsonl}
                hyper: {steps: %d, batchSize: 8, seqLen: %d, learningRate: 1e-3, warmupSteps: 10, schedule: cosine,
                        maxGradNorm: 1.0}
                output: run
                seed: 42
                """, context.baseModel(), BETA, context.steps(STEPS), DemoPairs.SEQ_LEN));
        return file;
    }

    /** The built-in model with a saved adapter applied, as a job that starts from it loads it. */
    private static LlamaModel withAdapter(Context context, Path adapter) throws IOException {
        LlamaModel model = LlamaModel.load(context.baseModel());
        Adapters.apply(model, adapter, context.local().host().catalog());
        return model;
    }

    /**
     * The figures summary.json keeps of a model: preference accuracy (all, by kind) and the reward
     * margin against the SFT reference (none for the base model, which has no such reward).
     */
    private static Map<String, Object> figures(Preferences preferences, Double margin) {
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("heldout_preference_accuracy", preferences.accuracy());
        if (margin != null) {
            figures.put("heldout_reward_margin", margin);
        }
        figures.put("heldout_preference_accuracy_other_definition", preferences.accuracy(Kind.OTHER_WORD));
        figures.put("heldout_preference_accuracy_unfinished_definition", preferences.accuracy(Kind.UNFINISHED));
        return figures;
    }

    /**
     * The model's preferences on the held-out pairs: per sequence the summed log-probability of its
     * completion (its tokens and the end-of-sequence token), as the dpo objective sums it, on no-grad passes.
     */
    private static Preferences preferences(LlamaModel model, DemoPairs pairs, KernelBackend kernels) {
        LlamaEngine engine = new LlamaEngine(model, kernels);
        List<SequenceGroup> groups = pairs.groups();
        GroupedExamples batches = new GroupedExamples(groups, IntStream.range(0, groups.size()).toArray(), 16, DemoPairs.SEQ_LEN,
                model.config().eosTokenId());
        double[] perSequence = new double[2 * groups.size()];
        int at = 0;
        for (TokenBatch batch : batches.pass()) {
            int rows = batch.batchSize() * batch.seqLen();
            float[] logProbs = new float[rows];
            kernels.tokenLogProbs(engine.infer(batch, true).logits(), rows, engine.vocabSize(), batch.labels(), logProbs, null);
            double[] sums = CompletionLogProbs.sum(batch, logProbs);
            System.arraycopy(sums, 0, perSequence, at, sums.length);
            at += sums.length;
        }
        return pairs.preferences(perSequence);
    }
}
