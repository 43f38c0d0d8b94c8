package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.technique.Objective;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.TokenizerAdapter;
import io.gradus.world.DefinitionPairs;
import io.gradus.world.DefinitionTask;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The built-in world's preference pairs as the alignment demos use them ({@link DefinitionPairs}: a
 * word's definition preferred to another word's or a worse one of its own): written into the demo's folder for its
 * job, and the held-out ones a demo measures a model on, encoded by the technique's objective exactly
 * as its job reads them, only those that fit the job's rows kept (the job skips longer ones too),
 * each with its kind of rejected definition.
 */
final class DemoPairs {

    /** Single-word synsets the DPO demo's training pairs come from (at most one pair each). */
    static final int TRAIN_PAIRS = 4000;
    /** Tokens per row of the DPO demo's job; longer pairs are left out there and in the measurement alike. */
    static final int SEQ_LEN = 64;
    /** Held-out pairs measured before and after (the job's own held-out metrics take the first 256). */
    private static final int MEASURED = 1000;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<SequenceGroup> groups;
    private final List<DefinitionPairs.Kind> kinds;

    private DemoPairs(List<SequenceGroup> groups, List<DefinitionPairs.Kind> kinds) {
        this.groups = groups;
        this.kinds = kinds;
    }

    /**
     * Writes {@code pairs} to {@code data/train.jsonl} and {@code data/heldout.jsonl} in the demo's
     * folder, and encodes the first 1,000 held-out pairs with the default settings of the objective
     * named {@code objective}, keeping those of at most {@code seqLen} tokens (the job's rows).
     */
    @SuppressWarnings("unchecked")
    static DemoPairs write(Demo.Context context, DefinitionPairs pairs, String objective, int seqLen) throws IOException {
        Path data = context.folder().resolve("data");
        DefinitionTask.writeJsonl(data.resolve("train.jsonl"), pairs.train());
        DefinitionTask.writeJsonl(data.resolve("heldout.jsonl"), pairs.heldOut());
        Objective<Object> encoder = (Objective<Object>) context.local().host().catalog().objective(objective, null)
                .orElseThrow(() -> new IllegalStateException("the " + objective + " objective bundle is not running"))
                .technique();
        Object config = JSON.convertValue(Map.of(), encoder.configType());
        List<SequenceGroup> groups = new ArrayList<>();
        List<DefinitionPairs.Kind> kinds = new ArrayList<>();
        try (HfTokenizer tokenizer = HfTokenizer.load(context.baseModel())) {
            TokenizerAdapter text = TokenizerAdapter.of(tokenizer, LlamaConfig.read(context.baseModel().resolve("config.json")),
                    context.baseModel());
            for (var record : pairs.heldOut().subList(0, Math.min(MEASURED, pairs.heldOut().size()))) {
                SequenceGroup pair = encoder.encodeGroup(config, record, text);
                if (pair.sequences().stream().allMatch(e -> e.ids().length <= seqLen)) {
                    groups.add(pair);
                    kinds.add(DefinitionPairs.kind(record));
                }
            }
        }
        return new DemoPairs(List.copyOf(groups), List.copyOf(kinds));
    }

    /** The measured held-out pairs, each a group of two sequences: chosen, then rejected. */
    List<SequenceGroup> groups() {
        return groups;
    }

    /** Every measured pair's sequences in order: chosen and rejected of pair p at 2p and 2p + 1. */
    List<Example> sequences() {
        return groups.stream().flatMap(g -> g.sequences().stream()).toList();
    }

    /**
     * A model's preferences, from one figure per sequence of {@link #sequences()} (a reward model's
     * score, a policy's summed completion log-probability): per pair, chosen's figure − rejected's.
     */
    Preferences preferences(double[] perSequence) {
        double[] differences = new double[groups.size()];
        for (int p = 0; p < differences.length; p++) {
            differences[p] = perSequence[2 * p] - perSequence[2 * p + 1];
        }
        return new Preferences(differences, kinds);
    }

    /**
     * How a model ranks the pairs.
     *
     * @param differences per pair, chosen's figure − rejected's
     * @param kinds per pair, what its rejected definition is
     */
    record Preferences(double[] differences, List<DefinitionPairs.Kind> kinds) {

        int pairs() {
            return differences.length;
        }

        /** The share of pairs whose chosen completion has the higher figure. */
        double accuracy() {
            return shareOf(null);
        }

        /** {@link #accuracy()} over the pairs whose rejected definition is of one kind. */
        double accuracy(DefinitionPairs.Kind kind) {
            return shareOf(kind);
        }

        /** The mean difference. */
        double mean() {
            return meanOf(null);
        }

        /** The mean difference over the pairs of one kind. */
        double mean(DefinitionPairs.Kind kind) {
            return meanOf(kind);
        }

        private double shareOf(DefinitionPairs.Kind kind) {
            return (double) pairsOf(kind).filter(p -> differences[p] > 0).count() / Math.max(1, pairsOf(kind).count());
        }

        private double meanOf(DefinitionPairs.Kind kind) {
            return pairsOf(kind).mapToDouble(p -> differences[p]).average().orElse(0);
        }

        /** The pairs of one kind, or all ({@code null}). */
        private IntStream pairsOf(DefinitionPairs.Kind kind) {
            return IntStream.range(0, differences.length).filter(p -> kind == null || kinds.get(p) == kind);
        }
    }
}
