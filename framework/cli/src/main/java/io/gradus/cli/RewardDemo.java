package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.Example;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.ModelFolders;
import io.gradus.jobs.SequenceScorer;
import io.gradus.jobs.TokenizerAdapter;
import io.gradus.world.DefinitionPairs;
import io.gradus.world.DefinitionTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code gradus demo reward}: trains a reward model on the built-in preference pairs (a word's
 * definition over another word's, or over its own with the inner words shuffled) from the built-in base
 * model, and compares the held-out pairwise accuracy before and after. The reward model stays in the
 * demo's folder, where the PPO demo finds it.
 */
final class RewardDemo extends Demo {

    /** Single-word synsets the training pairs come from (at most one pair each). */
    private static final int PAIRS = 4000;
    /** Held-out pairs measured before and after (the job's own held-out metrics take the first 256). */
    private static final int MEASURED = 1000;
    private static final long SEED = 42;
    /** Tokens per row in training; longer pairs are left out there and here alike. */
    private static final int SEQ_LEN = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    RewardDemo() {
        super("reward", "Reward model: prefer a word's WordNet definition to another word's or a shuffled one");
    }

    @Override
    Summary run(Context context) throws Exception {
        var terminal = context.out();
        DefinitionPairs pairs = DefinitionPairs.load(PAIRS, SEED);
        Path data = context.folder().resolve("data");
        DefinitionTask.writeJsonl(data.resolve("train.jsonl"), pairs.train());
        DefinitionTask.writeJsonl(data.resolve("heldout.jsonl"), pairs.heldOut());
        TechniqueCatalog catalog = context.local().host().catalog();
        List<Map<String, Object>> measured = pairs.heldOut().subList(0, Math.min(MEASURED, pairs.heldOut().size()));

        // Before: the base with the fresh score head the job starts from (drawn with the job's seed).
        LlamaModel start = LlamaModel.load(context.baseModel());
        start.toSequenceClassifier(SEED);
        Measure before = measure(start, context.baseModel(), measured, context.kernels(), catalog);

        terminal.printf("== reward model on %,d preference pairs about words ==%n", pairs.train().size());
        Hyperparameters hyper = new Hyperparameters(context.steps(400), 16, SEQ_LEN, 1, 2e-4, 20, "cosine", 0.0, null, null, null,
                1.0, null);
        JobSpec job = new JobSpec("demo-reward", context.baseModel().toString(), new TechniqueRef("full", null, Map.of()),
                new TechniqueRef("reward", null, Map.of()),
                new JobSpec.DataSpec(data.resolve("train.jsonl").toString(), data.resolve("heldout.jsonl").toString()),
                hyper, context.folder().resolve("run").toString(), SEED);
        JobInfo run = context.train(job);
        Measure after = measure(ModelFolders.load(Path.of(run.result()), catalog), context.baseModel(), measured,
                context.kernels(), catalog);

        terminal.println("== before and after, on held-out pairs (synsets no training saw) ==");
        terminal.printf("held-out pairwise accuracy: %.3f before, %.3f after training (%d pairs; chance is 0.5)%n",
                before.accuracy, after.accuracy, after.pairs);
        terminal.printf("  against another word's definition: %.3f before, %.3f after%n", before.againstOther,
                after.againstOther);
        terminal.printf("  against its own, shuffled:         %.3f before, %.3f after%n", before.againstShuffled,
                after.againstShuffled);
        terminal.printf("mean score margin (chosen − rejected): %.3f before, %.3f after%n", before.margin, after.margin);
        terminal.println("reward model (LlamaForSequenceClassification): " + run.result());
        return new Summary(Map.of("heldout_accuracy", before.accuracy, "heldout_margin", before.margin),
                Map.of("heldout_accuracy", after.accuracy, "heldout_margin", after.margin,
                        "heldout_accuracy_other_definition", after.againstOther,
                        "heldout_accuracy_shuffled_definition", after.againstShuffled),
                Map.of("reward_model", run.result(), "job_output", run.output(), "steps", run.step(),
                        "train_pairs", pairs.train().size(), "heldout_pairs_measured", after.pairs));
    }

    /** Pairwise accuracy (overall, and by kind of rejected definition) and mean margin over {@code pairs} pairs. */
    private record Measure(double accuracy, double againstOther, double againstShuffled, double margin, int pairs) {}

    @SuppressWarnings("unchecked")
    private static Measure measure(LlamaModel model, Path base, List<Map<String, Object>> records, KernelBackend kernels,
            TechniqueCatalog catalog) throws Exception {
        Objective<Object> reward = (Objective<Object>) catalog.objective("reward", null).orElseThrow().technique();
        Object config = JSON.convertValue(Map.of(), reward.configType());
        List<Example> sequences = new ArrayList<>();
        List<Map<String, Object>> kept = new ArrayList<>();
        try (HfTokenizer tokenizer = HfTokenizer.load(base)) {
            TokenizerAdapter text = TokenizerAdapter.of(tokenizer, model.config(), base);
            for (var record : records) {
                List<Example> pair = reward.encodeGroup(config, record, text).sequences();
                if (pair.stream().allMatch(e -> e.ids().length <= SEQ_LEN)) {
                    sequences.addAll(pair);
                    kept.add(record);
                }
            }
        }
        float[] scores = new SequenceScorer(model, kernels).scores(sequences);
        int[] right = new int[2];
        int[] count = new int[2];
        double margin = 0;
        for (int p = 0; p < kept.size(); p++) {
            int kind = DefinitionPairs.kind(kept.get(p)) == DefinitionPairs.Kind.SHUFFLED ? 1 : 0;
            count[kind]++;
            right[kind] += scores[2 * p] > scores[2 * p + 1] ? 1 : 0;
            margin += scores[2 * p] - scores[2 * p + 1];
        }
        int pairs = Math.max(1, kept.size());
        return new Measure((double) (right[0] + right[1]) / pairs, (double) right[0] / Math.max(1, count[0]),
                (double) right[1] / Math.max(1, count[1]), margin / pairs, kept.size());
    }
}
