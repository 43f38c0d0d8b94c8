package io.gradus.plugin.dpo;

import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.CompletionLogProbs;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DPO in one job. A step:
 * <pre>
 *   ρ_c, ρ_r   per pair: the record's ref_*_logps, else the precomputed ones, else one no-grad
 *              reference pass over the batch (every pair in it at once)
 *   π_c, π_r   one training pass over the batch's 2P rows (chosen and rejected together):
 *              tokenLogProbs, summed over each completion
 *   loss       DpoLoss, with ∂loss/∂π per row
 *   backward   spread over the completion's positions → tokenLogProbsBackward → dLogits → the model
 * </pre>
 * The step's metrics come from these passes, before its update. The session's state (written into
 * every checkpoint) is the settled kind of an {@code initial} reference and the precomputed
 * reference log-probabilities, so a resumed run neither recomputes nor chooses again.
 */
final class DpoSession implements ObjectiveSession<DpoConfig> {

    /** The group values with which a record gives its reference log-probabilities. */
    static final String REF_CHOSEN = "ref_chosen_logps";
    static final String REF_REJECTED = "ref_rejected_logps";

    private final ReferenceModel reference;
    /** Reference log-probabilities {chosen, rejected} of training pairs by record index (precomputed). */
    private final Map<Integer, double[]> precomputed = new HashMap<>();
    /** The same for held-out pairs, computed at the first evaluation (the reference does not change). */
    private final Map<Integer, double[]> heldOut = new HashMap<>();
    /** Buffers kept from step to step: per-position log-probabilities and the logits' gradient. */
    private float[] tokenLogProbs = new float[0];
    private float[] dLogits = new float[0];

    DpoSession(DpoConfig config, SessionContext context) {
        this.reference = ReferenceModel.of(config, context);
    }

    @Override
    public void prepare(DpoConfig config, Iterable<TokenBatch> trainingData, ModelRunner runner) {
        Iterator<TokenBatch> batches = trainingData.iterator();
        if (batches.hasNext()) {
            TokenBatch first = batches.next();
            requirePairs(first);
            reference.settle(first, runner);
        }
        if (config.precomputeReferenceLogps()) {
            for (TokenBatch batch : trainingData) {
                referenceLogps(batch, runner, precomputed, true);
            }
        }
    }

    @Override
    public StepResult step(DpoConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
        requirePairs(batch);
        reference.settle(batch, runner); // before the first update; nothing once settled
        double[][] ref = referenceLogps(batch, runner, precomputed, false);
        float[] logits = runner.train(batch, true).logits();
        int vocab = runner.vocabSize();
        PolicyPass policy = PolicyPass.of(batch, logits, tokenBuffer(batch), runner.kernels(), vocab);
        DpoMetrics metrics = new DpoMetrics();
        DpoLoss.Result loss = lossOf(config, policy, ref, metrics);

        double[] dRows = new double[batch.batchSize()];
        for (int p = 0; p < batch.groupCount(); p++) {
            dRows[2 * p] = gradScale * loss.dChosen()[p];
            dRows[2 * p + 1] = gradScale * loss.dRejected()[p];
        }
        int rows = batch.batchSize() * batch.seqLen();
        if (dLogits.length != rows * vocab) {
            dLogits = new float[rows * vocab];
        }
        runner.kernels().tokenLogProbsBackward(dLogits, logits, rows, vocab, batch.labels(),
                CompletionLogProbs.spread(batch, dRows));
        runner.backward(dLogits, null);
        return new StepResult(loss.loss(), batch.groupCount(), metrics.values());
    }

    /** TRL's metrics over every held-out pair, on no-grad passes of the policy and the reference. */
    @Override
    public Map<String, Double> evaluate(DpoConfig config, List<TokenBatch> batches, ModelRunner runner) {
        DpoMetrics metrics = new DpoMetrics();
        for (TokenBatch batch : batches) {
            requirePairs(batch);
            // The reference first: both passes use the runner's no-grad buffers.
            double[][] ref = referenceLogps(batch, runner, heldOut, true);
            PolicyPass policy = PolicyPass.of(batch, runner.infer(batch, true).logits(), tokenBuffer(batch),
                    runner.kernels(), runner.vocabSize());
            lossOf(config, policy, ref, metrics);
        }
        Map<String, Double> values = metrics.values();
        values.put("pairs", (double) metrics.pairs());
        return values;
    }

    /** The loss of a batch, its metrics added to {@code metrics}. */
    private static DpoLoss.Result lossOf(DpoConfig config, PolicyPass policy, double[][] ref, DpoMetrics metrics) {
        int pairs = ref[0].length;
        double[] chosenRatios = new double[pairs];
        double[] rejectedRatios = new double[pairs];
        int[] chosenLengths = new int[pairs];
        int[] rejectedLengths = new int[pairs];
        for (int p = 0; p < pairs; p++) {
            chosenRatios[p] = policy.logps()[2 * p] - ref[0][p];
            rejectedRatios[p] = policy.logps()[2 * p + 1] - ref[1][p];
            chosenLengths[p] = policy.lengths()[2 * p];
            rejectedLengths[p] = policy.lengths()[2 * p + 1];
        }
        DpoLoss.Result loss = DpoLoss.of(config, chosenRatios, rejectedRatios, chosenLengths, rejectedLengths);
        metrics.add(loss.loss(), policy, chosenRatios, rejectedRatios, config.beta());
        return loss;
    }

    /**
     * The reference log-probabilities {chosen[P], rejected[P]} of a batch's pairs: a record's own
     * values, else those kept in {@code kept} by the pair's index, else from one reference pass over
     * the batch (then kept when {@code keep}).
     */
    private double[][] referenceLogps(TokenBatch batch, ModelRunner runner, Map<Integer, double[]> kept, boolean keep) {
        int pairs = batch.groupCount();
        double[][] ref = new double[2][pairs];
        double[] givenChosen = batch.groups().value(REF_CHOSEN);
        double[] givenRejected = batch.groups().value(REF_REJECTED);
        boolean missing = false;
        for (int p = 0; p < pairs; p++) {
            double[] known = givenChosen != null && !Double.isNaN(givenChosen[p])
                    ? new double[] {givenChosen[p], givenRejected[p]}
                    : kept.get(batch.groups().indices()[p]);
            if (known == null) {
                missing = true;
            } else {
                ref[0][p] = known[0];
                ref[1][p] = known[1];
            }
        }
        if (missing) {
            double[] rows = PolicyPass.logps(batch, reference.infer(batch, runner).logits(), tokenBuffer(batch),
                    runner.kernels(), runner.vocabSize());
            for (int p = 0; p < pairs; p++) {
                boolean given = givenChosen != null && !Double.isNaN(givenChosen[p]);
                int index = batch.groups().indices()[p];
                if (!given && !kept.containsKey(index)) {
                    ref[0][p] = rows[2 * p];
                    ref[1][p] = rows[2 * p + 1];
                    if (keep) {
                        kept.put(index, new double[] {ref[0][p], ref[1][p]});
                    }
                }
            }
        }
        return ref;
    }

    private float[] tokenBuffer(TokenBatch batch) {
        int rows = batch.batchSize() * batch.seqLen();
        if (tokenLogProbs.length != rows) {
            tokenLogProbs = new float[rows];
        }
        return tokenLogProbs;
    }

    private static void requirePairs(TokenBatch batch) {
        if (batch.groups() == null || batch.groups().size() != 2) {
            throw new TechniqueException("the dpo objective trains on pairs: batches of groups of two sequences");
        }
    }

    /**
     * {@code reference_pass}: how an {@code initial} reference settled ({@code base} or
     * {@code snapshot}); {@code reference_logps}: the precomputed log-probabilities, {index: [chosen,
     * rejected]}.
     */
    @Override
    public Map<String, Object> state() {
        Map<String, Object> state = new LinkedHashMap<>();
        if (reference.pass() != null) {
            state.put("reference_pass", reference.pass().name().toLowerCase(java.util.Locale.ROOT));
        }
        Map<String, Object> logps = new LinkedHashMap<>();
        precomputed.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> logps.put(Integer.toString(e.getKey()), List.of(e.getValue()[0], e.getValue()[1])));
        state.put("reference_logps", logps);
        return state;
    }

    @Override
    public void restore(Map<String, Object> state) {
        if (state.get("reference_pass") instanceof String pass) {
            reference.restore(ReferenceModel.Pass.valueOf(pass.toUpperCase(java.util.Locale.ROOT)));
        }
        precomputed.clear();
        if (state.get("reference_logps") instanceof Map<?, ?> logps) {
            for (var entry : logps.entrySet()) {
                List<?> pair = (List<?>) entry.getValue();
                precomputed.put(Integer.parseInt(String.valueOf(entry.getKey())),
                        new double[] {((Number) pair.get(0)).doubleValue(), ((Number) pair.get(1)).doubleValue()});
            }
        }
    }
}
