package io.gradus.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Outputs;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.Sampling;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.ScalarHead;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.StepResult;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's hooks for objectives with a rollout phase and per-job state, on a toy objective in
 * PPO's shape: it collects by sampling continuations of prompts from the current weights, then
 * trains on them for two epochs of two mini-batches, with a value head of its own and a snapshot of
 * the initial weights as its reference.
 */
class RolloutPhaseTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final LlamaConfig CONFIG = new LlamaConfig(16, 16, 32, 2, 4, 2, 4, 1e-5, 10000.0, 64, false, 1, 2);
    private static final int PROMPT = 4;
    private static final int RESPONSE = 3;

    /** The toy objective; its sessions hold the rollouts, the iteration count and a value head. */
    static final class Rollouts implements Objective<Void> {
        @Override
        public Class<Void> configType() {
            return Void.class;
        }

        @Override
        public String description() {
            return "toy rollouts";
        }

        @Override
        public StepResult step(Void config, TokenBatch batch, ModelRunner runner, float gradScale) {
            throw new AssertionError("the session steps");
        }

        @Override
        public Example encode(Void config, Map<String, Object> record, TextTokenizer tokenizer) {
            throw new AssertionError("not read from files");
        }

        @Override
        public ObjectiveSession<Void> session(Void config, SessionContext context) {
            return new Session(context);
        }
    }

    static final class Session implements ObjectiveSession<Void> {
        private final long seed;
        private final Parameter value = new Parameter("toy.value_head.weight", new int[] {1, CONFIG.hiddenSize()},
                new float[CONFIG.hiddenSize()]);
        private final WeightsSnapshot initial;
        private List<int[]> rollouts = new ArrayList<>();
        private int iteration;
        private int served;

        Session(SessionContext context) {
            this.seed = context.seed();
            context.train(value);
            this.initial = context.snapshot("initial");
        }

        @Override
        public boolean collects(Void config) {
            return true;
        }

        @Override
        public Collected collect(Void config, Supplier<TokenBatch> prompts, ModelRunner runner) {
            TokenBatch batch = prompts.get();
            rollouts = new ArrayList<>();
            for (int b = 0; b < batch.batchSize(); b++) {
                int[] prompt = java.util.Arrays.copyOfRange(batch.inputIds(), b * batch.seqLen(), b * batch.seqLen() + PROMPT);
                int[] response = runner.generate(prompt, new Sampling(1.0, 0, 1, RESPONSE, seed * 1000 + iteration * 10 + b), -1);
                int[] sequence = java.util.Arrays.copyOf(prompt, PROMPT + RESPONSE);
                System.arraycopy(response, 0, sequence, PROMPT, response.length);
                rollouts.add(sequence);
            }
            // How far the policy moved: the mean |logit − reference logit| on the rollouts.
            TokenBatch all = micro(0, rollouts.size());
            float[] now = runner.infer(all, true).logits().clone();
            float[] reference = runner.infer(all, true, initial).logits();
            double drift = 0;
            for (int i = 0; i < now.length; i++) {
                drift += Math.abs(now[i] - reference[i]) / now.length;
            }
            iteration++;
            served = 0;
            return new Collected(4, Map.of("collected", (double) iteration, "drift", drift));
        }

        private TokenBatch micro(int from, int to) {
            int rows = to - from;
            int[] ids = new int[rows * (PROMPT + RESPONSE)];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(rollouts.get(from + r), 0, ids, r * (PROMPT + RESPONSE), PROMPT + RESPONSE);
            }
            return TokenBatch.nextToken(rows, PROMPT + RESPONSE, ids);
        }

        @Override
        public TokenBatch nextCollected(Void config) {
            int half = rollouts.size() / 2;
            int start = (served++ % 2) * half;
            return micro(start, start + half);
        }

        @Override
        public StepResult step(Void config, TokenBatch batch, ModelRunner runner, float gradScale) {
            Outputs out = runner.train(batch, true);
            int n = batch.countLabels();
            float[] dLogits = new float[out.logits().length];
            double sum = runner.kernels().crossEntropy(out.logits(), batch.batchSize() * batch.seqLen(), runner.vocabSize(),
                    batch.labels(), dLogits, gradScale / n);
            // A value head at every row's last token, regressed to 1: loss ½·mean (v − 1)².
            ScalarHead head = new ScalarHead(value, batch.lastTokens(-1));
            float[] v = head.forward(out.hidden(), runner.kernels());
            float[] dv = new float[v.length];
            double valueLoss = 0;
            for (int i = 0; i < v.length; i++) {
                valueLoss += 0.5 * (v[i] - 1) * (v[i] - 1) / v.length;
                dv[i] = gradScale * (v[i] - 1) / v.length;
            }
            float[] dHidden = new float[out.hidden().length];
            head.backward(dv, dHidden, runner.kernels());
            runner.backward(dLogits, dHidden);
            return new StepResult(sum / n + valueLoss, n, Map.of("value_loss", valueLoss));
        }

        @Override
        public Map<String, Object> state() {
            List<List<Integer>> buffer = new ArrayList<>();
            for (int[] r : rollouts) {
                buffer.add(java.util.Arrays.stream(r).boxed().toList());
            }
            Map<String, Object> state = new HashMap<>();
            state.put("iteration", iteration);
            state.put("served", served);
            state.put("rollouts", buffer);
            return state;
        }

        @Override
        @SuppressWarnings("unchecked")
        public void restore(Map<String, Object> state) {
            iteration = ((Number) state.get("iteration")).intValue();
            served = ((Number) state.get("served")).intValue();
            rollouts = new ArrayList<>();
            for (List<Number> r : (List<List<Number>>) state.get("rollouts")) {
                rollouts.add(r.stream().mapToInt(Number::intValue).toArray());
            }
        }
    }

    private record Run(LlamaModel model, Trainer<Void> trainer, TrainingContext context, List<Trainer.StepMetrics> metrics) {}

    private static Run newRun(int steps) {
        LlamaModel model = LlamaModel.initialize(CONFIG, 11);
        model.parameters().forEach(p -> p.setTrainable(true));
        Hyperparameters hyper = new Hyperparameters(steps, 4, 16, 1, 1e-2, 0, "constant", 0.0, null, null, null, 1.0, null);
        int[] corpus = new int[200];
        for (int i = 0; i < corpus.length; i++) {
            corpus[i] = 1 + (i * 7) % 15;
        }
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        TrainingContext context = new TrainingContext(42, engine, model.parameters(), null);
        Trainer<Void> trainer = new Trainer<>(engine, model.parameters(), new Rollouts(), context,
                null, new PackedTokens(corpus, 4, 16), hyper);
        return new Run(model, trainer, context, new ArrayList<>());
    }

    @Test
    @DisplayName("the rollout phase runs before the first step and again when its collected steps are used up")
    void collectsEveryFourSteps() {
        Run run = newRun(9);
        run.trainer().run(9, run.metrics()::add);

        List<Integer> collectedAt = run.metrics().stream().filter(m -> m.metrics().containsKey("collected"))
                .map(Trainer.StepMetrics::step).toList();
        assertThat(collectedAt).containsExactly(1, 5, 9);
        assertThat(run.metrics().getFirst().metrics().get("drift")).as("no update yet: the policy is the reference").isZero();
        assertThat(run.metrics().get(4).metrics().get("drift")).as("after four updates").isPositive();
        assertThat(run.context().registered()).extracting(Parameter::name).containsExactly("toy.value_head.weight");
        assertThat(run.context().registered().getFirst().values()).as("the value head trained").isNotEqualTo(
                new float[CONFIG.hiddenSize()]);
    }

    @Test
    @DisplayName("a run checkpointed in the middle of a collection resumes exactly: state, value head and snapshot come back")
    void resumesMidCollection(@TempDir Path dir) throws Exception {
        Run straight = newRun(10);
        straight.trainer().run(10, straight.metrics()::add);

        Run first = newRun(10);
        first.trainer().run(6, first.metrics()::add);
        first.trainer().saveCheckpoint(dir.resolve("checkpoint"));
        Run resumed = newRun(10);
        float[] snapshotBefore = resumed.context().snapshots().getFirst().values(0).clone();
        java.util.Arrays.fill(resumed.context().snapshots().getFirst().values(0), 0f); // must come from the checkpoint
        resumed.trainer().resume(dir.resolve("checkpoint"));
        assertThat(resumed.context().snapshots().getFirst().values(0)).containsExactly(snapshotBefore);
        resumed.trainer().run(10, resumed.metrics()::add);

        List<Double> stitched = new ArrayList<>(first.metrics().stream().map(Trainer.StepMetrics::loss).toList());
        resumed.metrics().forEach(m -> stitched.add(m.loss()));
        assertThat(stitched).containsExactlyElementsOf(straight.metrics().stream().map(Trainer.StepMetrics::loss).toList());
        assertThat(resumed.metrics().stream().filter(m -> m.metrics().containsKey("collected")).map(Trainer.StepMetrics::step))
                .containsExactly(9);
        assertThat(resumed.context().registered().getFirst().values())
                .containsExactly(straight.context().registered().getFirst().values());
        for (int i = 0; i < straight.model().parameters().size(); i++) {
            assertThat(resumed.model().parameters().get(i).values())
                    .containsExactly(straight.model().parameters().get(i).values());
        }
    }
}
