package io.gradus.cli;

import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.cli.DemoPairs.Preferences;
import io.gradus.core.llama.LlamaModel;
import io.gradus.jobs.ModelFolders;
import io.gradus.jobs.SequenceScorer;
import io.gradus.world.DefinitionPairs;
import io.gradus.world.DefinitionPairs.Kind;
import io.gradus.world.DefinitionTask;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code gradus demo reward}: trains a reward model on the built-in preference pairs (a word's
 * definition over its own with the inner words shuffled, or over the definition of a word of another
 * part of speech) from the built-in base model, and compares the held-out pairwise accuracy before and
 * after, by kind of rejected definition. The reward model stays in the demo's folder, where the PPO
 * demo finds it.
 */
final class RewardDemo extends Demo {

    private static final long SEED = 42;
    /** Single-word synsets drawn for the training pairs (at most one pair each; about 10,000 pairs). */
    private static final int TRAIN_ENTRIES = 12_000;
    /** Tokens per row: nine in ten pairs fit, and a step costs less than with 64 (docs/DESIGN.md). */
    private static final int SEQ_LEN = 40;

    RewardDemo() {
        super("reward", "Reward model: prefer a word's WordNet definition to a shuffled one or another part of speech's");
    }

    @Override
    Summary run(Context context) throws Exception {
        var terminal = context.out();
        DefinitionPairs pairs = DefinitionPairs.load(TRAIN_ENTRIES, SEED);
        DemoPairs measured = DemoPairs.write(context, pairs, "reward", SEQ_LEN);
        Path data = context.folder().resolve("data");
        TechniqueCatalog catalog = context.local().host().catalog();

        // Before: the base with the fresh score head the job starts from (drawn with the job's seed).
        LlamaModel start = LlamaModel.load(context.baseModel());
        start.toSequenceClassifier(SEED);
        Preferences before = measure(start, measured, context.kernels());

        // Two jobs: pairs of one kind first, whose consistent signal takes the model out of the start where
        // every sequence scores alike; then every pair, from there (docs/DESIGN.md has the runs).
        List<Map<String, Object>> otherPart = pairs.train().stream()
                .filter(p -> DefinitionPairs.kind(p) == Kind.OTHER_PART).toList();
        DefinitionTask.writeJsonl(data.resolve("train-other-part.jsonl"), otherPart);
        terminal.printf("== reward model, first on the %,d pairs against another part of speech's definition ==%n",
                otherPart.size());
        JobInfo first = context.train(job("demo-reward-other-part", context.baseModel(), data.resolve("train-other-part.jsonl"),
                context.steps(250), 1e-3, context.folder().resolve("run-other-part")));
        terminal.printf("== then on all %,d preference pairs about words ==%n", pairs.train().size());
        JobInfo run = context.train(job("demo-reward", Path.of(first.result()), data.resolve("train.jsonl"), context.steps(400),
                5e-4, context.folder().resolve("run")));
        Preferences after = measure(ModelFolders.load(Path.of(run.result()), catalog), measured, context.kernels());

        terminal.println("== before and after, on held-out pairs (synsets no training saw) ==");
        terminal.printf("held-out pairwise accuracy: %.3f before, %.3f after training (%d pairs; chance is 0.5)%n",
                before.accuracy(), after.accuracy(), after.pairs());
        terminal.printf("  against its own, shuffled:         %.3f before, %.3f after%n", before.accuracy(Kind.SHUFFLED),
                after.accuracy(Kind.SHUFFLED));
        terminal.printf("  against another part of speech's:  %.3f before, %.3f after%n", before.accuracy(Kind.OTHER_PART),
                after.accuracy(Kind.OTHER_PART));
        terminal.printf("mean score margin (chosen − rejected): %.3f before, %.3f after%n", before.mean(), after.mean());
        terminal.println("reward model (LlamaForSequenceClassification): " + run.result());
        return new Summary(Map.of("heldout_accuracy", before.accuracy(), "heldout_margin", before.mean()),
                Map.of("heldout_accuracy", after.accuracy(), "heldout_margin", after.mean(),
                        "heldout_accuracy_shuffled_definition", after.accuracy(Kind.SHUFFLED),
                        "heldout_accuracy_other_part_of_speech", after.accuracy(Kind.OTHER_PART)),
                Map.of("reward_model", run.result(), "job_output", run.output(), "steps", run.step(),
                        "train_pairs", pairs.train().size(), "first_job_output", first.output(), "first_job_steps", first.step(),
                        "first_job_pairs", otherPart.size(), "heldout_pairs_measured", after.pairs()));
    }

    /** A full fine-tuning reward job on the demo's pairs, 16 pairs a step, lr constant after 10 warm-up steps. */
    private static JobSpec job(String name, Path model, Path train, int steps, double learningRate, Path output) {
        Hyperparameters hyper = new Hyperparameters(steps, 16, SEQ_LEN, 1, learningRate, 10, "constant", 0.0, null, null,
                null, 1.0, null);
        return new JobSpec(name, model.toString(), new TechniqueRef("full", null, Map.of()),
                new TechniqueRef("reward", null, Map.of()),
                new JobSpec.DataSpec(train.toString(), train.resolveSibling("heldout.jsonl").toString()), hyper,
                output.toString(), SEED);
    }

    /** The reward model's preferences: the score of chosen − the score of rejected, per pair. */
    private static Preferences measure(LlamaModel model, DemoPairs pairs, KernelBackend kernels) {
        float[] scores = new SequenceScorer(model, kernels).scores(pairs.sequences());
        double[] perSequence = new double[scores.length];
        for (int i = 0; i < scores.length; i++) {
            perSequence[i] = scores[i];
        }
        return pairs.preferences(perSequence);
    }
}
