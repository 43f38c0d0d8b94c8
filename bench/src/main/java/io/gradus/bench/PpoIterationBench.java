package io.gradus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.Tuner;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.GroupedExamples;
import io.gradus.core.train.Trainer;
import io.gradus.core.train.TrainingContext;
import io.gradus.jobs.TokenizerAdapter;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * One PPO iteration of the {@code ppo} objective on a benchmark configuration, timed by phase:
 * generation (the KV-cache sampling of the responses), scoring (the reward model's no-grad pass),
 * forward (the policy's and the reference's no-grad passes for the old log-probabilities and values)
 * and optimisation (numPpoEpochs × numMiniBatches training steps: forward, losses, backward, AdamW).
 * The policy is the configuration's model with LoRA (r 8 on every projection), the reward model another
 * of the same shape with a score head, prompts of half a row, responses of the other half (a random
 * model rarely says EOS, so responses run to full length). Also measures what the value head costs
 * beside what a separate value model would (docs/DESIGN.md).
 */
final class PpoIterationBench {

    private static final int EPOCHS = 4;

    private PpoIterationBench() {}

    @SuppressWarnings("unchecked")
    static ObjectNode measure(ObjectMapper json, LlamaConfig config, int seq, int batch, int iterations, int warmup,
            KernelBackend kernels, TechniqueCatalog catalog) throws InterruptedException {
        Objective<Object> ppo = (Objective<Object>) catalog.objective("ppo", null)
                .orElseThrow(() -> new IllegalStateException("the ppo objective bundle is not running")).technique();
        Tuner<Object> lora = (Tuner<Object>) catalog.tuner("lora", null)
                .orElseThrow(() -> new IllegalStateException("the lora tuner bundle is not running")).technique();
        LlamaModel model = LlamaModel.initialize(config, 0);
        var tuning = lora.apply(model, json.convertValue(BenchTrainCommand.LORA, lora.configType()));
        LlamaEngine policy = new LlamaEngine(model, kernels, List.of(tuning));
        LlamaModel rewardModel = LlamaModel.initialize(config, 1);
        rewardModel.toSequenceClassifier(1);
        LlamaEngine reward = new LlamaEngine(rewardModel, kernels);

        Object ppoConfig = json.convertValue(Map.of("rewardModel", "benchmark", "responseLength", seq / 2,
                "numPpoEpochs", EPOCHS), ppo.configType());
        Hyperparameters hyper = new Hyperparameters(Integer.MAX_VALUE, batch, seq, 1, 1e-4, 0, "constant", 0.0, null, null,
                null, 1.0, null);
        TrainingContext context = new TrainingContext(0, policy, tuning.trainableParameters(), path -> reward, 1,
                // A random model has no tokenizer: only its special ids (text is refused in words).
                new TokenizerAdapter(null, config, null, null, "a benchmark model has no chat template"));
        Trainer<Object> trainer = new Trainer<>(policy, tuning.trainableParameters(), ppo, context, ppoConfig,
                prompts(config, seq / 2, batch, seq), hyper);

        List<double[]> phases = new ArrayList<>(); // per measured iteration: total, generation, scoring, forward
        for (int i = 0; i < warmup + iterations; i++) {
            long start = System.nanoTime();
            Map<String, Double> rollout = null;
            for (int s = 0; s < EPOCHS; s++) {
                var step = trainer.trainStep();
                if (rollout == null) {
                    rollout = step.metrics();
                }
            }
            if (i >= warmup) {
                phases.add(new double[] {(System.nanoTime() - start) / 1e9, rollout.get("time/generation_s"),
                        rollout.get("time/scoring_s"), rollout.get("time/forward_s")});
            }
        }
        phases.sort((a, b) -> Double.compare(a[0], b[0]));
        double[] median = phases.get(phases.size() / 2);
        double optimisation = median[0] - median[1] - median[2] - median[3];
        ObjectNode result = json.createObjectNode();
        result.put("impl", "gradus");
        result.put("mode", "ppo");
        result.put("backend", kernels.description());
        result.put("params", model.parameterCount());
        result.put("prompts_per_iteration", batch);
        result.put("prompt_tokens", seq / 2);
        result.put("response_tokens", seq / 2);
        result.put("optimizer_steps_per_iteration", EPOCHS);
        result.put("iteration_s_median", median[0]);
        result.put("generation_s", median[1]);
        result.put("scoring_s", median[2]);
        result.put("forward_s", median[3]);
        result.put("optimisation_s", optimisation);
        result.put("value_head_bytes", valueHeadBytes(config));
        result.put("value_model_bytes", valueModelBytes(config, seq, batch, kernels));
        result.put("peak_heap_mib", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20);
        return result;
    }

    /** Prompts of {@code length} random tokens (never EOS), {@code batch} to a batch. */
    private static GroupedExamples prompts(LlamaConfig config, int length, int batch, int seq) {
        Random random = new Random(3);
        List<SequenceGroup> groups = new ArrayList<>();
        for (int g = 0; g < 4 * batch; g++) {
            int[] ids = new int[length];
            for (int i = 0; i < length; i++) {
                do {
                    ids[i] = random.nextInt(config.vocabSize());
                } while (ids[i] == config.eosTokenId());
            }
            groups.add(SequenceGroup.of(new Example(ids, new boolean[length])));
        }
        return new GroupedExamples(groups, java.util.stream.IntStream.range(0, groups.size()).toArray(), batch, seq,
                Math.max(0, config.eosTokenId()));
    }

    /** The value head on the policy: its weight, gradient and two AdamW moments, C floats each. */
    private static long valueHeadBytes(LlamaConfig config) {
        return 4L * config.hiddenSize() * Float.BYTES;
    }

    /**
     * What TRL's separate value model (a copy of the reward model, trained in full) would add: the most
     * heap found live beyond what was live before, while it holds its weights, gradients and AdamW
     * moments and runs one training pass over a batch of rollouts with its backward pass.
     */
    private static long valueModelBytes(LlamaConfig config, int seq, int batch, KernelBackend kernels)
            throws InterruptedException {
        HeapProbe.Peak heap = HeapProbe.during(() -> {
            LlamaModel value = LlamaModel.initialize(config, 2);
            value.toSequenceClassifier(2);
            List<float[]> moments = new ArrayList<>();
            for (Parameter p : value.parameters()) {
                p.setTrainable(true);
                moments.add(new float[p.size()]);
                moments.add(new float[p.size()]);
            }
            LlamaEngine engine = new LlamaEngine(value, kernels);
            float[] hidden = engine.train(TokenBatch.nextToken(batch, seq, new int[batch * seq]), false).hidden();
            engine.backward(null, new float[hidden.length]);
            java.lang.ref.Reference.reachabilityFence(moments);
            java.lang.ref.Reference.reachabilityFence(engine);
        });
        return heap.peak() - heap.atRest();
    }

    /** The figures in words: the iteration's time by phase, and the value head's bytes beside a value model's. */
    static String line(JsonNode r) {
        double total = r.get("iteration_s_median").asDouble();
        return String.format(Locale.ROOT, "%s ppo, %d threads: %.2f s per iteration: generation %.0f%%, scoring %.0f%%, "
                + "forward %.0f%%, optimisation %.0f%%; the value head %,d bytes, a separate value model %,d bytes",
                r.get("config").asText(), r.get("threads").asInt(), total,
                100 * r.get("generation_s").asDouble() / total, 100 * r.get("scoring_s").asDouble() / total,
                100 * r.get("forward_s").asDouble() / total, 100 * r.get("optimisation_s").asDouble() / total,
                r.get("value_head_bytes").asLong(), r.get("value_model_bytes").asLong());
    }
}
