package io.gradus.plugin.dpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Model;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Outputs;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.Tuning;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.TrainingContext;
import io.gradus.plugin.full.FullConfig;
import io.gradus.plugin.full.FullTechnique;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What a DPO session does beyond one loss: which pass is the reference, precomputed and given
 * reference log-probabilities, held-out metrics, β changing between steps, state across a resume,
 * and the records it refuses. On the golden tiny Llama of {@link DpoGoldenTest}.
 */
class DpoSessionTest {

    private static DpoConfig config(String reference, boolean precompute) {
        return new DpoConfig(0.1, null, null, reference, precompute);
    }

    /** Adds {@code delta} to every trainable value: an update, as an optimizer step would make. */
    private static void update(Tuning tuning, float delta) {
        for (Parameter p : tuning.trainableParameters()) {
            for (int i = 0; i < p.size(); i++) {
                p.values()[i] += delta * (1 + i % 3);
            }
        }
    }

    /** The reference log-probabilities of the golden batch, as the session's reference computes them. */
    private static double[] referenceLogps(ReferenceModel reference, TokenBatch batch, ModelRunner runner) {
        return PolicyPass.logps(batch, reference.infer(batch, runner).logits(), new float[batch.batchSize() * batch.seqLen()],
                runner.kernels(), runner.vocabSize());
    }

    @Test
    @DisplayName("initial: a fresh LoRA adapter is the base, so the reference is a base pass; step 1's rewards are 0")
    void initialFromAFreshAdapterIsTheBase() throws Exception {
        DpoGoldenTest.Policy policy = DpoGoldenTest.policy(false, 7);
        TokenBatch batch = DpoGoldenTest.pairs(10);
        ReferenceModel reference = ReferenceModel.of(config(DpoConfig.INITIAL, false), policy.context());
        reference.settle(batch, policy.engine());
        assertThat(reference.pass()).isEqualTo(ReferenceModel.Pass.BASE);

        DpoConfig config = config(DpoConfig.INITIAL, false);
        StepResult first = DpoGoldenTest.step(new DpoTechnique().session(config, policy.context()), config,
                withoutGivenReference(batch), policy);
        assertThat(first.metrics().get("rewards/chosen")).isCloseTo(0, within(1e-5));
        assertThat(first.metrics().get("rewards/rejected")).isCloseTo(0, within(1e-5));
        assertThat(first.loss()).isCloseTo(Math.log(2), within(1e-5));
    }

    @Test
    @DisplayName("initial: from a saved adapter the reference is a snapshot of it, and stays so while the policy moves")
    void initialFromASavedAdapterIsItsSnapshot() throws Exception {
        JsonNode golden = DpoGoldenTest.JSON.readTree(DpoGoldenTest.GOLDEN.resolve("golden.json").toFile());
        DpoGoldenTest.Policy policy = DpoGoldenTest.policy(true, 0);
        TokenBatch batch = DpoGoldenTest.pairs(10);
        ReferenceModel reference = ReferenceModel.of(config(DpoConfig.INITIAL, false), policy.context());
        reference.settle(batch, policy.engine());
        assertThat(reference.pass()).isEqualTo(ReferenceModel.Pass.SNAPSHOT);

        update(policy.tuning(), 0.05f);
        double[] logps = referenceLogps(reference, batch, policy.engine());
        for (int p = 0; p < 4; p++) {
            assertThat(logps[2 * p]).as("chosen %d", p).isCloseTo(golden.at("/policy_logps/chosen/" + p).asDouble(), within(1e-4));
            assertThat(logps[2 * p + 1]).as("rejected %d", p)
                    .isCloseTo(golden.at("/policy_logps/rejected/" + p).asDouble(), within(1e-4));
        }
        // The snapshot swapped in and out again: the policy kept its update.
        double[] moved = PolicyPass.logps(batch, policy.engine().infer(batch, true).logits(), new float[batch.batchSize() * 10],
                policy.engine().kernels(), 30);
        assertThat(Math.abs(moved[0] - golden.at("/policy_logps/chosen/0").asDouble())).isGreaterThan(1e-2);
    }

    @Test
    @DisplayName("full fine-tuning: initial is a snapshot; base is refused before any update, naming the fix")
    void fullFineTuning() throws Exception {
        LlamaModel model = LlamaModel.load(DpoGoldenTest.GOLDEN.resolve("base"));
        Tuning full = new FullTechnique().apply(model, FullConfig.defaults());
        LlamaEngine engine = new LlamaEngine(model, DpoGoldenTest.KERNELS, List.of(full));
        TrainingContext context = new TrainingContext(1, engine, full.trainableParameters(), null);
        TokenBatch batch = DpoGoldenTest.pairs(10);

        ReferenceModel initial = ReferenceModel.of(config(DpoConfig.INITIAL, false), context);
        initial.settle(batch, engine);
        assertThat(initial.pass()).isEqualTo(ReferenceModel.Pass.SNAPSHOT);

        DpoConfig base = config(DpoConfig.BASE, false);
        ObjectiveSession<DpoConfig> session = new DpoTechnique().session(base, context);
        assertThatThrownBy(() -> session.prepare(base, List.of(withoutGivenReference(batch)), engine))
                .hasMessageContaining("reference: base needs a tuner whose additions can be switched off")
                .hasMessageContaining("use reference: initial");
    }

    @Test
    @DisplayName("precomputed reference log-probabilities are computed once, kept in the state, and a resumed session uses them")
    void precomputedOnceAndRestored() throws Exception {
        DpoGoldenTest.Policy policy = DpoGoldenTest.policy(true, 0);
        TokenBatch batch = DpoGoldenTest.pairs(10);
        DpoConfig config = config(DpoConfig.BASE, true);
        ObjectiveSession<DpoConfig> first = new DpoTechnique().session(config, policy.context());
        CountingRunner counting = new CountingRunner(policy.engine());
        first.prepare(config, List.of(batch), counting);
        int prepared = counting.referencePasses.get();
        assertThat(prepared).isPositive();
        Map<String, Object> state = roundTrip(first.state());
        // Three pairs precomputed; the fourth record gives its own values.
        assertThat(((Map<?, ?>) state.get("reference_logps")).keySet()).map(String::valueOf).containsExactly("0", "1", "2");
        StepResult expected = DpoGoldenTest.step(first, config, batch, policy);
        assertThat(counting.referencePasses.get()).as("no reference pass in a step").isEqualTo(prepared);

        ObjectiveSession<DpoConfig> resumed = new DpoTechnique().session(config, policy.context());
        resumed.restore(state);
        CountingRunner after = new CountingRunner(policy.engine());
        policy.tuning().trainableParameters().forEach(p -> java.util.Arrays.fill(p.gradient(), 0f));
        StepResult again = resumed.step(config, batch, after, 1f);
        assertThat(after.referencePasses.get()).isZero();
        assertThat(again.loss()).isEqualTo(expected.loss());
        assertThat(again.metrics()).isEqualTo(expected.metrics());
    }

    @Test
    @DisplayName("an initial reference settled as a snapshot stays one after a resume")
    void settledChoiceIsRestored() throws Exception {
        DpoGoldenTest.Policy policy = DpoGoldenTest.policy(true, 0);
        DpoConfig config = config(DpoConfig.INITIAL, false);
        ObjectiveSession<DpoConfig> first = new DpoTechnique().session(config, policy.context());
        first.prepare(config, List.of(DpoGoldenTest.pairs(10)), policy.engine());
        Map<String, Object> state = roundTrip(first.state());
        assertThat(state).containsEntry("reference_pass", "snapshot");

        DpoSession resumed = (DpoSession) new DpoTechnique().session(config, policy.context());
        resumed.restore(state);
        assertThat(resumed.state()).containsEntry("reference_pass", "snapshot");
    }

    @Test
    @DisplayName("β changed between two steps scales the rewards by its ratio (the live setting a job is steered with)")
    void betaChangesTheRewards() throws Exception {
        DpoGoldenTest.Policy policy = DpoGoldenTest.policy(true, 0);
        TokenBatch batch = DpoGoldenTest.pairs(10);
        DpoConfig low = config(DpoConfig.BASE, false);
        DpoConfig high = new DpoConfig(0.5, null, null, DpoConfig.BASE, false);
        ObjectiveSession<DpoConfig> session = new DpoTechnique().session(low, policy.context());
        StepResult before = DpoGoldenTest.step(session, low, batch, policy);
        StepResult after = DpoGoldenTest.step(session, high, batch, policy);
        for (String metric : List.of("rewards/chosen", "rewards/rejected", "rewards/margins")) {
            assertThat(after.metrics().get(metric)).as(metric).isCloseTo(5 * before.metrics().get(metric), within(1e-9));
        }
        assertThat(after.metrics().get("logps/chosen")).isEqualTo(before.metrics().get("logps/chosen"));
        assertThat(after.loss()).isNotCloseTo(before.loss(), within(1e-3));
    }

    @Test
    @DisplayName("held-out metrics are the step's metrics of the same pairs, from no-grad passes")
    void heldOutMetrics() throws Exception {
        DpoGoldenTest.Policy policy = DpoGoldenTest.policy(true, 0);
        DpoConfig config = new DpoConfig(0.3, "robust", 0.1, DpoConfig.BASE, false);
        ObjectiveSession<DpoConfig> session = new DpoTechnique().session(config, policy.context());
        // Two held-out batches of two pairs each: sums run over both before dividing.
        TokenBatch all = DpoGoldenTest.pairs(10);
        Map<String, Double> heldOut = session.evaluate(config, List.of(half(all, 0), half(all, 1)), policy.engine());
        StepResult step = DpoGoldenTest.step(session, config, all, policy);
        assertThat(heldOut.get("pairs")).isEqualTo(4.0);
        step.metrics().forEach((name, value) -> assertThat(heldOut.get(name)).as(name).isCloseTo(value, within(1e-5)));
    }

    @Test
    @DisplayName("a reference folder of another architecture is refused naming the folder and what differs")
    void referenceOfAnotherArchitecture() throws Exception {
        DpoGoldenTest.Policy policy = DpoGoldenTest.policy(true, 0);
        LlamaModel wider = LlamaModel.initialize(new LlamaConfig(30, 32, 36, 2, 4, 2, 8, 1e-5, 10000.0, 64, false, 1, 2), 3);
        assertThatThrownBy(() -> ReferenceModel.requireSameArchitecture("models/wider", new LlamaEngine(wider,
                DpoGoldenTest.KERNELS), policy.model()))
                .hasMessageContaining("the reference model models/wider is not built as the policy")
                .hasMessageContaining("hidden size 32, the policy's 16");
        LlamaModel otherVocabulary = LlamaModel.initialize(new LlamaConfig(31, 16, 36, 2, 4, 2, 4, 1e-5, 10000.0, 64, false, 1,
                2), 3);
        assertThatThrownBy(() -> ReferenceModel.requireSameArchitecture("models/other", new LlamaEngine(otherVocabulary,
                DpoGoldenTest.KERNELS), policy.model()))
                .hasMessageContaining("a vocabulary of 31 tokens, the policy's 30");
        LlamaModel narrowMlp = LlamaModel.initialize(new LlamaConfig(30, 16, 20, 2, 4, 2, 4, 1e-5, 10000.0, 64, false, 1, 2), 3);
        assertThatThrownBy(() -> ReferenceModel.requireSameArchitecture("models/narrow", new LlamaEngine(narrowMlp,
                DpoGoldenTest.KERNELS), policy.model()))
                .hasMessageContaining("model.layers.0.mlp.gate_proj of 20x16, the policy's 36x16");
        ReferenceModel.requireSameArchitecture("models/same", new LlamaEngine(LlamaModel.load(DpoGoldenTest.GOLDEN.resolve(
                "base")), DpoGoldenTest.KERNELS), policy.model());
    }

    @Test
    @DisplayName("records that say nothing, or say it twice, are refused naming the field")
    void badRecords() {
        DpoTechnique dpo = new DpoTechnique();
        DpoConfig config = DpoConfig.defaults();
        assertThatThrownBy(() -> dpo.encodeGroup(config, Map.of("prompt_input_ids", List.of(1, 4), "chosen_input_ids",
                List.of(5, 2), "rejected_input_ids", List.of(5, 2)), null))
                .hasMessageContaining("\"chosen_input_ids\" and \"rejected_input_ids\" are identical");
        assertThatThrownBy(() -> dpo.encodeGroup(config, Map.of("chosen_input_ids", List.of(1, 4), "rejected_input_ids",
                List.of(1, 4, 5)), null))
                .hasMessageContaining("the chosen completion has no token to score");
        // An empty completion is no error for the pair formats (a text one scores its EOS), but ids give nothing to score.
        assertThatThrownBy(() -> dpo.encodeGroup(config, Map.of("prompt_input_ids", List.of(1, 4), "chosen_input_ids",
                List.of(), "rejected_input_ids", List.of(5, 2)), null))
                .hasMessageContaining("the chosen completion has no token to score");
        assertThatThrownBy(() -> dpo.encodeGroup(config, Map.of("prompt_input_ids", List.of(1, 4), "chosen_input_ids",
                List.of(6, 2)), null))
                .hasMessageContaining("\"rejected_input_ids\" is missing");
        assertThatThrownBy(() -> dpo.encodeGroup(config, Map.of("prompt_input_ids", List.of(1, 4), "chosen_input_ids",
                List.of(6, 2), "rejected_input_ids", List.of(5, 2), "ref_chosen_logps", -3.5), null))
                .hasMessageContaining("\"ref_rejected_logps\" is missing beside \"ref_chosen_logps\"");
    }

    @Test
    @DisplayName("settings a loss cannot use, and values out of range, are refused naming the setting")
    void badSettings() {
        assertThatThrownBy(() -> new DpoConfig(0.0, null, null, null, null)).hasMessageContaining("beta must be a number > 0");
        assertThatThrownBy(() -> new DpoConfig(null, "kto", null, null, null))
                .hasMessageContaining("lossType must be one of sigmoid, ipo, hinge, robust");
        assertThatThrownBy(() -> new DpoConfig(null, "robust", 0.5, null, null))
                .hasMessageContaining("labelSmoothing must be in [0, 0.5)");
        assertThatThrownBy(() -> new DpoConfig(null, "ipo", 0.1, null, null))
                .hasMessageContaining("lossType ipo has no label-noise form");
        assertThat(DpoConfig.defaults()).isEqualTo(new DpoConfig(0.1, "sigmoid", 0.0, "initial", false));
    }

    /** The batch without the fourth pair's given reference values (every pair then needs a reference pass). */
    private static TokenBatch withoutGivenReference(TokenBatch batch) {
        Map<String, double[]> values = new HashMap<>();
        return new TokenBatch(batch.batchSize(), batch.seqLen(), batch.inputIds(), batch.labels(), batch.lengths(),
                new TokenBatch.Groups(2, batch.groups().indices(), values));
    }

    /** Pairs 2h and 2h+1 of a batch of four. */
    private static TokenBatch half(TokenBatch batch, int h) {
        int rows = 4;
        int from = h * rows * batch.seqLen();
        int to = from + rows * batch.seqLen();
        Map<String, double[]> values = new HashMap<>();
        batch.groups().values().forEach((name, all) -> values.put(name, java.util.Arrays.copyOfRange(all, 2 * h, 2 * h + 2)));
        return new TokenBatch(rows, batch.seqLen(), java.util.Arrays.copyOfRange(batch.inputIds(), from, to),
                java.util.Arrays.copyOfRange(batch.labels(), from, to), java.util.Arrays.copyOfRange(batch.lengths(), rows * h,
                        rows * h + rows),
                new TokenBatch.Groups(2, java.util.Arrays.copyOfRange(batch.groups().indices(), 2 * h, 2 * h + 2), values));
    }

    /** The state as a checkpoint gives it back: written as JSON and read again. */
    private static Map<String, Object> roundTrip(Map<String, Object> state) throws Exception {
        return DpoGoldenTest.JSON.readValue(DpoGoldenTest.JSON.writeValueAsString(state), new TypeReference<>() {});
    }

    /** The engine, counting the no-grad passes a reference makes (base passes and snapshot passes). */
    private static final class CountingRunner implements ModelRunner {
        final AtomicInteger referencePasses = new AtomicInteger();
        private final LlamaEngine engine;

        CountingRunner(LlamaEngine engine) {
            this.engine = engine;
        }

        @Override
        public int vocabSize() {
            return engine.vocabSize();
        }

        @Override
        public float[] forward(TokenBatch batch) {
            return engine.forward(batch);
        }

        @Override
        public void backward(float[] dLogits) {
            engine.backward(dLogits);
        }

        @Override
        public KernelBackend kernels() {
            return engine.kernels();
        }

        @Override
        public Model model() {
            return engine.model();
        }

        @Override
        public Outputs train(TokenBatch batch, boolean logits) {
            return engine.train(batch, logits);
        }

        @Override
        public void backward(float[] dLogits, float[] dHidden) {
            engine.backward(dLogits, dHidden);
        }

        @Override
        public Outputs infer(TokenBatch batch, boolean logits) {
            return engine.infer(batch, logits);
        }

        @Override
        public Outputs inferBase(TokenBatch batch, boolean logits) {
            referencePasses.incrementAndGet();
            return engine.inferBase(batch, logits);
        }

        @Override
        public Outputs infer(TokenBatch batch, boolean logits, WeightsSnapshot weights) {
            referencePasses.incrementAndGet();
            return engine.infer(batch, logits, weights);
        }
    }
}
