package io.gradus.plugin.ppo.internal;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Outputs;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.Sampling;
import io.gradus.api.model.ScoreHead;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.ScalarHead;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueException;
import io.gradus.plugin.ppo.PpoConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * PPO in one job (TRL's {@code PPOTrainer.train}, see docs/DESIGN.md): each rollout phase generates
 * responses to a batch of prompts from the current policy, scores them with the frozen reward model,
 * takes the reference's log-probabilities and the value head's values, and turns them into advantages
 * and returns; the optimizer steps that follow train on its micro-batches, {@code numPpoEpochs}
 * passes in fresh orders, with the clipped surrogate and the clipped value loss.
 *
 * <p>The policy is the job's model; the value head {@value #VALUE_HEAD} [1, C] reads its final hidden
 * state; the reference is the base with the adapters off, or a snapshot of the starting weights.
 */
final class PpoSession implements ObjectiveSession<PpoConfig> {

    /** The value head's parameter: trained and checkpointed with the policy, not saved with it. */
    static final String VALUE_HEAD = "value_head.weight";

    private final long seed;
    private final SessionContext context;
    private final ModelRunner reward;
    private final ScoreHead rewardHead;
    private final Parameter valueHead;
    /** The reference for {@code reference: initial}; null when it is the base with the adapters off. */
    private final WeightsSnapshot initial;
    private final int samples;
    /** Rollouts collected so far: the next one's number. */
    private int iterations;
    /** β now: the configured klCoef, changed by steering and the adaptive controller. */
    private double klCoef;
    /** The configured klCoef β was last set from: a different one in the configuration is a steering change. */
    private double configuredKlCoef;
    private Rollout rollout;
    /** The micro-batch handed out last, which the next {@link #step} trains on. */
    private int[] handedOut;
    /** dLogits of a step, B·T·V floats: kept for the next step (tokenLogProbsBackward writes all of it). */
    private float[] dLogits = new float[0];

    /**
     * Starts PPO for a job: loads the reward model, registers the value head, takes the reference.
     *
     * @throws TechniqueException when the reward model is not named, does not load or has no score head
     */
    PpoSession(PpoConfig config, SessionContext context) {
        if (config.rewardModel() == null || config.rewardModel().isBlank()) {
            throw new TechniqueException("ppo needs config.rewardModel: the folder of a reward model "
                    + "(a LlamaForSequenceClassification, e.g. the one gradus demo reward leaves in DIR/run/model)");
        }
        this.seed = context.seed();
        this.context = context;
        this.reward = context.frozenModel(config.rewardModel());
        this.rewardHead = reward.model().scoreHead().orElseThrow(() -> new TechniqueException("the reward model "
                + config.rewardModel() + " is a causal language model, not a sequence classifier: it has no score head"));
        // Zero: the values start with no opinion, and the shared backbone gets no value gradient before
        // the head has learnt something.
        this.valueHead = new Parameter(VALUE_HEAD, new int[] {1, context.model().hiddenSize()},
                new float[context.model().hiddenSize()]);
        context.train(valueHead);
        this.initial = config.reference().equals("initial") ? context.snapshot("reference") : null;
        this.samples = config.samples();
        this.klCoef = config.klCoef();
        this.configuredKlCoef = config.klCoef();
    }

    @Override
    public boolean collects(PpoConfig config) {
        return true;
    }

    /**
     * Refuses, before step 1, a reward model with another vocabulary than the policy's, a prompt that
     * leaves no position for a response in a row of {@code hyper.seqLen}, and {@code reference: base}
     * when the policy does not start as its base.
     */
    @Override
    public void prepare(PpoConfig config, Iterable<TokenBatch> trainingData, ModelRunner runner) {
        if (reward.vocabSize() != runner.vocabSize()) {
            throw new TechniqueException("the reward model " + config.rewardModel() + " has a vocabulary of "
                    + reward.vocabSize() + " tokens, the policy " + runner.vocabSize() + ": PPO hands it the policy's "
                    + "token ids as they are, so both must share one tokenizer");
        }
        TokenBatch first = null;
        for (TokenBatch batch : trainingData) {
            first = first == null ? batch : first;
            for (int b = 0; b < batch.batchSize(); b++) {
                if (batch.lengths()[b] >= batch.seqLen()) {
                    throw new TechniqueException("the prompt of record " + (batch.groups().indices()[b] + 1) + " has "
                            + batch.lengths()[b] + " tokens and fills a row of hyper.seqLen " + batch.seqLen()
                            + ": raise seqLen to the longest prompt + responseLength (" + config.responseLength() + ")");
                }
            }
        }
        if (initial == null && first != null) {
            // The base is the starting policy only when the tuning starts as the identity (a fresh LoRA
            // adapter, B = 0): not when the job starts from a saved adapter, nor for modules drawn otherwise.
            float[] policy = runner.infer(first, true).logits().clone();
            if (!Arrays.equals(policy, referencePass(config, first, runner).logits())) {
                throw new TechniqueException("reference: base is the model with its adapters switched off, and this "
                        + "job's policy does not start as that model (it starts from a saved adapter, or its tuner's "
                        + "new modules change the model): set the objective's reference: initial, the policy as it starts");
            }
        }
    }

    @Override
    public Collected collect(PpoConfig config, Supplier<TokenBatch> prompts, ModelRunner runner) {
        if (config.klCoef() != configuredKlCoef) { // steered
            klCoef = config.klCoef();
            configuredKlCoef = config.klCoef();
        }
        int eos = context.tokenizer().eosId();
        long started = System.nanoTime();
        List<Rollout.Row> rows = new ArrayList<>();
        int microBatches = config.numMiniBatches() * context.gradAccumulation();
        int seqLen = 0;
        int rowsPerBatch = 0;
        for (int m = 0; m < microBatches; m++) {
            TokenBatch batch = prompts.get();
            if (batch.groups() == null || batch.groups().size() != 1) {
                throw new TechniqueException("ppo trains on prompts: batches of groups of one sequence");
            }
            seqLen = batch.seqLen();
            rowsPerBatch = batch.batchSize();
            int firstRow = rows.size();
            rows.addAll(generate(config, batch, runner, eos, b -> Seeds.of(seed, iterations, firstRow + b)));
        }
        return assess(config, rows, seqLen, rowsPerBatch, runner, seconds(started));
    }

    /**
     * The rest of a rollout phase, once the responses are there: their scores, the policy's and the
     * reference's log-probabilities and the values, then rewards, advantages and returns, and the
     * order of the micro-batches of the PPO epochs that train on them.
     *
     * @param rowsPerBatch rows per micro-batch (hyper.batchSize)
     * @param generationSeconds how long generating the responses took, reported with the rollout
     */
    Collected assess(PpoConfig config, List<Rollout.Row> rows, int seqLen, int rowsPerBatch, ModelRunner runner,
            double generationSeconds) {
        int eos = context.tokenizer().eosId();
        long scoringStarted = System.nanoTime();
        double[] forward = new double[1];
        int padId = padId(eos);
        for (int start = 0; start < rows.size(); start += rowsPerBatch) {
            int[] numbers = range(start, Math.min(rows.size(), start + rowsPerBatch));
            score(config, rows, numbers, seqLen, padId, runner, forward);
        }
        double scoring = seconds(scoringStarted) - forward[0];

        // Rewards, advantages and returns per response (Advantages), then advantages whitened over the rollout.
        double klSum = 0;
        double entropySum = 0;
        double nonScoreSum = 0;
        double scoreSum = 0;
        int eosTokens = 0;
        List<double[]> advantages = new ArrayList<>();
        for (Rollout.Row row : rows) {
            if (!row.eos && config.missingEosPenalty() != null) {
                row.score -= config.missingEosPenalty(); // TRL: scores[~contain_eos_token] -= missing_eos_penalty
            }
            double[] kl = new double[row.response.length];
            for (int t = 0; t < kl.length; t++) {
                kl[t] = Advantages.kl(config.klEstimator(), row.logProbs[t], row.refLogProbs[t]);
                klSum += kl[t];
                entropySum -= row.logProbs[t];
                nonScoreSum -= klCoef * kl[t];
                eosTokens += row.response[t] == eos ? 1 : 0;
            }
            scoreSum += row.score;
            double[] rewards = Advantages.rewards(kl, klCoef, row.score);
            row.advantages = Advantages.gae(rewards, row.values, config.gamma(), config.lam());
            row.returns = Advantages.returns(row.advantages, row.values);
            advantages.add(row.advantages);
        }
        Advantages.whiten(advantages);
        int n = rows.size();
        Map<String, Double> metrics = new LinkedHashMap<>();
        // TRL's rollout figures: means over the rollout's sequences of per-sequence sums.
        metrics.put("objective/kl", klSum / n);
        metrics.put("objective/entropy", entropySum / n);
        metrics.put("objective/non_score_reward", nonScoreSum / n);
        metrics.put("objective/rlhf_reward", nonScoreSum / n + scoreSum / n);
        metrics.put("objective/scores", scoreSum / n);
        metrics.put("objective/kl_coef", klCoef);
        metrics.put("val/num_eos_tokens", (double) eosTokens);
        metrics.put("time/generation_s", generationSeconds);
        metrics.put("time/scoring_s", scoring);
        metrics.put("time/forward_s", forward[0]);
        if (config.klTarget() != null) {
            klCoef = AdaptiveKl.next(klCoef, klSum / n, config.klTarget(), config.klHorizon(), n);
        }
        rollout = new Rollout(iterations, seqLen, padId, rows,
                Rollout.schedule(seed, iterations, n, config.numPpoEpochs(), rowsPerBatch));
        iterations++;
        return new Collected(config.numPpoEpochs() * config.numMiniBatches(), metrics);
    }

    /**
     * Responses to the prompts of {@code batch} from the current policy, with the KV cache, until EOS
     * (kept) or {@code responseLength} tokens or the row is full; row b drawn with {@code seeds(b)}.
     */
    private static List<Rollout.Row> generate(PpoConfig config, TokenBatch batch, ModelRunner runner, int eos,
            java.util.function.IntToLongFunction seeds) {
        List<Rollout.Row> rows = new ArrayList<>();
        for (int b = 0; b < batch.batchSize(); b++) {
            int length = batch.lengths()[b];
            int[] prompt = Arrays.copyOfRange(batch.inputIds(), b * batch.seqLen(), b * batch.seqLen() + length);
            int room = Math.min(config.responseLength(), batch.seqLen() - length);
            if (room < 1) {
                throw new TechniqueException("the prompt of record " + (batch.groups().indices()[b] + 1) + " fills its row "
                        + "of " + batch.seqLen() + " positions: raise hyper.seqLen");
            }
            // TRL samples with top_k 0 and top_p 1.0: the temperature alone shapes the distribution.
            int[] response = runner.generate(prompt, new Sampling(config.temperature(), 0, 1.0, room, seeds.applyAsLong(b)),
                    eos);
            boolean ended = eos >= 0 && response.length > 0 && response[response.length - 1] == eos;
            rows.add(new Rollout.Row(batch.groups().indices()[b], prompt, response, ended));
        }
        return rows;
    }

    /**
     * Under no-grad, for the rows {@code numbers}: the policy's log-probabilities and values, the
     * reference's log-probabilities (their time added to {@code forwardSeconds[0]}) and the reward
     * model's scores.
     */
    private void score(PpoConfig config, List<Rollout.Row> rows, int[] numbers, int seqLen, int padId, ModelRunner runner,
            double[] forwardSeconds) {
        long started = System.nanoTime();
        TokenBatch batch = Rollout.batch(rows, numbers, seqLen, padId);
        int[] positions = Rollout.responsePositions(rows, numbers, seqLen);
        Outputs policy = runner.infer(batch, true);
        float[] values = new ScalarHead(valueHead, positions).forward(policy.hidden(), runner.kernels());
        spread(rows, numbers, logProbs(config, batch, policy.logits(), positions, runner), (row, v) -> row.logProbs = v);
        spread(rows, numbers, toDouble(values), (row, v) -> row.values = v);
        Outputs reference = referencePass(config, batch, runner);
        spread(rows, numbers, logProbs(config, batch, reference.logits(), positions, runner), (row, v) -> row.refLogProbs = v);
        forwardSeconds[0] += seconds(started);
        float[] scores = scores(batch, runner.kernels());
        for (int r = 0; r < numbers.length; r++) {
            rows.get(numbers[r]).score = scores[r];
        }
    }

    /** The reward model's score of each row: its head at the row's last real token (transformers' rule). */
    private float[] scores(TokenBatch batch, KernelBackend kernels) {
        float[] hidden = reward.infer(batch, false).hidden();
        return new ScalarHead(rewardHead.weight(), batch.lastTokens(rewardHead.padTokenId())).forward(hidden, kernels).clone();
    }

    /** The reference policy's no-grad pass: the base with the adapters off, or the snapshot of the start. */
    private Outputs referencePass(PpoConfig config, TokenBatch batch, ModelRunner runner) {
        if (initial != null) {
            return runner.infer(batch, true, initial);
        }
        try {
            return runner.inferBase(batch, true);
        } catch (IllegalStateException e) {
            throw new TechniqueException(e.getMessage() + " (set the objective's reference: initial)", e);
        }
    }

    /**
     * log π(y_t | ·) at {@code positions} under logits / T (TRL divides by the temperature the responses
     * were drawn at), in position order.
     */
    private static double[] logProbs(PpoConfig config, TokenBatch batch, float[] logits, int[] positions, ModelRunner runner) {
        int rows = batch.batchSize() * batch.seqLen();
        float[] all = new float[rows];
        runner.kernels().tokenLogProbs(tempered(config, logits, rows, runner), rows, runner.vocabSize(), batch.labels(), all,
                null);
        double[] picked = new double[positions.length];
        for (int i = 0; i < positions.length; i++) {
            picked[i] = all[positions[i]];
        }
        return picked;
    }

    /** The id that pads rows after a response: EOS, or 0 for a tokenizer without one. */
    private static int padId(int eos) {
        return Math.max(eos, 0);
    }

    /** logits / T: a copy, the runner's own logits are not to be written to; the logits themselves at T = 1. */
    private static float[] tempered(PpoConfig config, float[] logits, int rows, ModelRunner runner) {
        if (config.temperature() == 1.0) {
            return logits;
        }
        float[] scaled = Arrays.copyOf(logits, rows * runner.vocabSize());
        runner.kernels().scale(scaled, (float) (1 / config.temperature()), scaled.length);
        return scaled;
    }

    @Override
    public TokenBatch nextCollected(PpoConfig config) {
        if (rollout == null || rollout.consumed()) {
            throw new IllegalStateException("nothing collected is left to train on");
        }
        handedOut = rollout.schedule.get(rollout.cursor++);
        return Rollout.batch(rollout.rows, handedOut, rollout.seqLen, rollout.padId);
    }

    /**
     * One micro-batch of a PPO epoch: a training pass gives the new log-probabilities (of logits / T)
     * and values at the response positions; the clipped losses (ClippedLosses) give their gradients,
     * backed through {@code tokenLogProbsBackward} (times 1/T) and the value head, in one backward pass:
     * loss = policy loss + vfCoef·value loss, as TRL's.
     */
    @Override
    public StepResult step(PpoConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
        if (handedOut == null || !Arrays.equals(handedOut, batch.groups().indices())) {
            throw new IllegalStateException("ppo steps train on the micro-batch nextCollected handed out last");
        }
        KernelBackend kernels = runner.kernels();
        List<Rollout.Row> rows = rollout.rows;
        int n = batch.batchSize() * batch.seqLen();
        int vocab = runner.vocabSize();
        int[] positions = Rollout.responsePositions(rows, handedOut, batch.seqLen());
        Outputs out = runner.train(batch, true);
        float[] logits = tempered(config, out.logits(), n, runner);
        float[] logProbs = new float[n];
        float[] entropies = new float[n];
        kernels.tokenLogProbs(logits, n, vocab, batch.labels(), logProbs, entropies);
        ScalarHead valueReader = new ScalarHead(valueHead, positions);
        float[] values = valueReader.forward(out.hidden(), kernels);

        double[] newLogProbs = new double[positions.length];
        double entropy = 0;
        for (int i = 0; i < positions.length; i++) {
            newLogProbs[i] = logProbs[positions[i]];
            entropy += entropies[positions[i]];
        }
        ClippedLosses.Policy policy = ClippedLosses.policy(newLogProbs, gather(rows, handedOut, r -> r.logProbs),
                gather(rows, handedOut, r -> r.advantages), config.cliprange());
        ClippedLosses.Value value = ClippedLosses.value(toDouble(values), gather(rows, handedOut, r -> r.values),
                gather(rows, handedOut, r -> r.returns), config.cliprangeValue());

        // d loss/d log π(logits/T) → d/d logits: the chain rule through the division by T.
        float[] dLogProbs = new float[n];
        for (int i = 0; i < positions.length; i++) {
            dLogProbs[positions[i]] = (float) (gradScale * policy.gradient()[i] / config.temperature());
        }
        if (dLogits.length != n * vocab) {
            dLogits = new float[n * vocab];
        }
        kernels.tokenLogProbsBackward(dLogits, logits, n, vocab, batch.labels(), dLogProbs);
        float[] dValues = new float[positions.length];
        for (int i = 0; i < positions.length; i++) {
            dValues[i] = (float) (gradScale * config.vfCoef() * value.gradient()[i]);
        }
        float[] dHidden = new float[n * runner.hiddenSize()];
        valueReader.backward(dValues, dHidden, kernels);
        runner.backward(dLogits, dHidden);

        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("loss/policy_avg", policy.loss());
        metrics.put("loss/value_avg", value.loss());
        metrics.put("policy/approxkl_avg", policy.approxKl());
        metrics.put("policy/clipfrac_avg", policy.clipFraction());
        metrics.put("val/clipfrac_avg", value.clipFraction());
        metrics.put("policy/entropy_avg", entropy / positions.length);
        metrics.put("val/ratio", policy.meanRatio());
        return new StepResult(policy.loss() + config.vfCoef() * value.loss(), positions.length, metrics);
    }

    /**
     * Held-out evaluation: a response to each held-out prompt, drawn with a seed of the prompt's record
     * (the same draws at every checkpoint), scored by the reward model (without the missing-EOS
     * penalty: what the reward model says), and its KL to the reference per sequence.
     */
    @Override
    public Map<String, Double> evaluate(PpoConfig config, List<TokenBatch> heldOut, ModelRunner runner) {
        int eos = context.tokenizer().eosId();
        double scores = 0;
        double kl = 0;
        double length = 0;
        int count = 0;
        for (TokenBatch prompts : heldOut) {
            // A seed per record, whatever batch it falls in.
            List<Rollout.Row> rows = generate(config, prompts, runner, eos,
                    b -> Seeds.of(seed, Seeds.EVALUATION, prompts.groups().indices()[b]));
            int[] numbers = range(0, rows.size());
            score(config, rows, numbers, prompts.seqLen(), padId(eos), runner, new double[1]);
            for (Rollout.Row row : rows) {
                scores += row.score;
                for (int t = 0; t < row.response.length; t++) {
                    kl += Advantages.kl(config.klEstimator(), row.logProbs[t], row.refLogProbs[t]);
                }
                length += row.response.length;
                count++;
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("objective/scores", scores / count);
        metrics.put("objective/kl", kl / count);
        metrics.put("response_length", length / count);
        metrics.put("prompts", (double) count);
        return metrics;
    }

    @Override
    public List<Map<String, Object>> samples() {
        List<Map<String, Object>> shown = new ArrayList<>();
        if (rollout == null) {
            return shown;
        }
        for (Rollout.Row row : rollout.rows.subList(0, Math.min(samples, rollout.rows.size()))) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("iteration", rollout.iteration + 1);
            line.put("record", row.index + 1);
            try {
                line.put("prompt", context.tokenizer().decode(row.prompt));
                line.put("response", context.tokenizer().decode(row.response));
            } catch (RuntimeException e) { // no tokenizer.json: the ids are what there is to show
                line.put("prompt_ids", row.prompt);
                line.put("response_ids", row.response);
            }
            line.put("score", row.score);
            line.put("eos", row.eos);
            shown.add(line);
        }
        return shown;
    }

    @Override
    public Map<String, Object> state() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("iterations", iterations);
        state.put("kl_coef", klCoef);
        state.put("configured_kl_coef", configuredKlCoef);
        if (rollout != null) {
            state.put("rollout", rollout.state());
        }
        if (handedOut != null) {
            state.put("handed_out", handedOut);
        }
        return state;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void restore(Map<String, Object> state) {
        iterations = ((Number) state.get("iterations")).intValue();
        klCoef = ((Number) state.get("kl_coef")).doubleValue();
        configuredKlCoef = ((Number) state.get("configured_kl_coef")).doubleValue();
        rollout = state.containsKey("rollout") ? Rollout.restore((Map<String, Object>) state.get("rollout")) : null;
        handedOut = state.containsKey("handed_out")
                ? ((List<Number>) state.get("handed_out")).stream().mapToInt(Number::intValue).toArray() : null;
    }

    /** The value head, for tests. */
    Parameter valueHead() {
        return valueHead;
    }

    /** The latest rollout, for tests. */
    Rollout rollout() {
        return rollout;
    }

    /** Sets one per-token figure of each row from a flat array laid out as {@link Rollout#responsePositions}. */
    private static void spread(List<Rollout.Row> rows, int[] numbers, double[] flat,
            java.util.function.BiConsumer<Rollout.Row, double[]> field) {
        int at = 0;
        for (int number : numbers) {
            Rollout.Row row = rows.get(number);
            field.accept(row, Arrays.copyOfRange(flat, at, at + row.response.length));
            at += row.response.length;
        }
    }

    /** One per-token figure of the rows {@code numbers}, flat, laid out as {@link Rollout#responsePositions}. */
    private static double[] gather(List<Rollout.Row> rows, int[] numbers, java.util.function.Function<Rollout.Row, double[]> field) {
        int count = 0;
        for (int number : numbers) {
            count += rows.get(number).response.length;
        }
        double[] flat = new double[count];
        int at = 0;
        for (int number : numbers) {
            double[] values = field.apply(rows.get(number));
            System.arraycopy(values, 0, flat, at, values.length);
            at += values.length;
        }
        return flat;
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static int[] range(int from, int to) {
        int[] numbers = new int[to - from];
        Arrays.setAll(numbers, i -> from + i);
        return numbers;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
