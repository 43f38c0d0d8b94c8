package io.gradus.plugin.dpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.testing.RequiredTool;
import io.gradus.core.train.GroupedExamples;
import io.gradus.core.train.TrainingContext;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.plugin.lora.internal.LoraTechnique;
import io.gradus.testkit.GradientCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DPO against an independent PyTorch rendering of TRL's DPOTrainer ({@code src/test/python/dpo_reference.py}):
 * a tiny Llama with a PEFT LoRA adapter as the policy and the base as the reference; per-sequence
 * log-probabilities, each loss, TRL's metrics and the gradients of every LoRA factor; and the
 * gradients against finite differences of the loss.
 */
class DpoGoldenTest {

    static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path GOLDEN = Path.of("src/test/resources/golden");
    static final LoraConfig LORA = new LoraConfig(4, 8.0, 0.0, List.of("q_proj", "v_proj", "down_proj"), false, null);

    /** A model with its LoRA tuning and an engine that knows the tuning (for base passes). */
    record Policy(LlamaModel model, Tuning tuning, LlamaEngine engine) {
        TrainingContext context() {
            return new TrainingContext(42, engine, tuning.trainableParameters(), null);
        }
    }

    /** The golden base with the golden adapter loaded (saved = true) or a fresh adapter drawn from {@code seed}. */
    static Policy policy(boolean saved, long seed) throws Exception {
        LlamaModel model = LlamaModel.load(GOLDEN.resolve("base"));
        LoraTechnique lora = new LoraTechnique();
        Tuning tuning = saved
                ? lora.load(model, LORA, new SafetensorsFiles().read(GOLDEN.resolve("adapter/adapter_model.safetensors")))
                : lora.apply(model, LORA, seed);
        return new Policy(model, tuning, new LlamaEngine(model, KERNELS, List.of(tuning)));
    }

    /** The golden pairs as DPO reads them, all in one batch of {@code seqLen} positions (padded with EOS). */
    static TokenBatch pairs(int seqLen) throws Exception {
        List<SequenceGroup> pairs = new ArrayList<>();
        for (String line : Files.readAllLines(GOLDEN.resolve("pairs.jsonl"))) {
            pairs.add(new DpoTechnique().encodeGroup(DpoConfig.defaults(),
                    JSON.readValue(line, new TypeReference<Map<String, Object>>() {}), null));
        }
        return new GroupedExamples(pairs, IntStream.range(0, pairs.size()).toArray(), pairs.size(), seqLen, 2).next();
    }

    static DpoConfig config(JsonNode config) {
        return JSON.convertValue(config, DpoConfig.class);
    }

    /** One step of a session, the gradients zeroed first as the trainer does. */
    static StepResult step(ObjectiveSession<DpoConfig> session, DpoConfig config, TokenBatch batch, Policy policy) {
        policy.tuning().trainableParameters().forEach(p -> Arrays.fill(p.gradient(), 0f));
        return session.step(config, batch, policy.engine(), 1f);
    }

    @Test
    @DisplayName("the golden numbers are what the PyTorch reference computes (run again here; required in CI)")
    void goldenIsThePyTorchReference(@TempDir Path dir) throws Exception {
        RequiredTool.require(run("/usr/bin/python3", "-c", "import torch, numpy") == 0,
                "Debian's python3-torch is not installed (apt-get install python3-torch python3-numpy; .ci/run does)");
        assertThat(run("/usr/bin/python3", "src/test/python/dpo_reference.py", "golden", dir.toString())).isZero();
        JsonNode fresh = JSON.readTree(dir.resolve("golden.json").toFile());
        JsonNode committed = JSON.readTree(GOLDEN.resolve("golden.json").toFile());
        assertThat(fresh.get("cases").size()).isEqualTo(committed.get("cases").size());
        assertSame("", fresh.get("policy_logps"), committed.get("policy_logps"));
        assertSame("", fresh.get("reference_logps"), committed.get("reference_logps"));
        assertSame("", fresh.get("cases"), committed.get("cases"));
        assertThat(Files.readAllLines(dir.resolve("pairs.jsonl"))).isEqualTo(Files.readAllLines(GOLDEN.resolve("pairs.jsonl")));
        assertThat(Files.readAllBytes(dir.resolve("adapter/adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(GOLDEN.resolve("adapter/adapter_model.safetensors")));
    }

    /**
     * Every number of {@code actual} within 1e-5 (relative) of {@code expected}'s, everything else
     * equal: PyTorch's float32 sums end in other bits with another thread count or CPU (1.4e-6 seen
     * on a LoRA gradient of magnitude 0.93), far below what a change of the reference would move.
     */
    private static void assertSame(String path, JsonNode actual, JsonNode expected) {
        if (expected.isNumber()) {
            assertThat(actual.asDouble()).as(path).isCloseTo(expected.asDouble(), within(1e-5 * Math.max(1,
                    Math.abs(expected.asDouble()))));
        } else if (expected.isContainerNode()) {
            assertThat(actual.size()).as(path).isEqualTo(expected.size());
            if (expected.isArray()) {
                for (int i = 0; i < expected.size(); i++) {
                    assertSame(path + "/" + i, actual.get(i), expected.get(i));
                }
            } else {
                expected.properties().forEach(e -> assertSame(path + "/" + e.getKey(), actual.get(e.getKey()), e.getValue()));
            }
        } else {
            assertThat(actual).as(path).isEqualTo(expected);
        }
    }

    private static int run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        return process.waitFor();
    }

    @Test
    @DisplayName("each completion's summed log-probability, under the LoRA policy and under the base, is PyTorch's")
    void sequenceLogProbabilities() throws Exception {
        JsonNode golden = JSON.readTree(GOLDEN.resolve("golden.json").toFile());
        Policy policy = policy(true, 0);
        TokenBatch batch = pairs(10);
        float[] buffer = new float[batch.batchSize() * batch.seqLen()];
        double[] policyLogps = PolicyPass.logps(batch, policy.engine().infer(batch, true).logits(), buffer, KERNELS, 30);
        double[] baseLogps = PolicyPass.logps(batch, policy.engine().inferBase(batch, true).logits(), buffer, KERNELS, 30);
        for (int p = 0; p < 4; p++) {
            assertThat(policyLogps[2 * p]).as("policy, chosen %d", p).isCloseTo(golden.at("/policy_logps/chosen/" + p).asDouble(), within(1e-4));
            assertThat(policyLogps[2 * p + 1]).as("policy, rejected %d", p)
                    .isCloseTo(golden.at("/policy_logps/rejected/" + p).asDouble(), within(1e-4));
            assertThat(baseLogps[2 * p]).as("base, chosen %d", p).isCloseTo(golden.at("/reference_logps/chosen/" + p).asDouble(), within(1e-4));
            assertThat(baseLogps[2 * p + 1]).as("base, rejected %d", p)
                    .isCloseTo(golden.at("/reference_logps/rejected/" + p).asDouble(), within(1e-4));
        }
    }

    @ParameterizedTest(name = "case {0}")
    @ValueSource(ints = {0, 1, 2, 3, 4})
    @DisplayName("sigmoid, conservative, robust, hinge and IPO: the loss, TRL's metrics and every LoRA gradient are PyTorch's")
    void lossMetricsAndGradients(int index) throws Exception {
        JsonNode golden = JSON.readTree(GOLDEN.resolve("golden.json").toFile()).at("/cases/" + index);
        DpoConfig config = config(golden.get("config"));
        Policy policy = policy(true, 0);
        TokenBatch batch = pairs(10);
        StepResult result = step(new DpoTechnique().session(config, policy.context()), config, batch, policy);

        double loss = golden.get("loss").asDouble();
        assertThat(result.loss()).as("loss").isCloseTo(loss, within(2e-5 * Math.max(1, Math.abs(loss))));
        assertThat(result.tokens()).as("pairs").isEqualTo(4);
        golden.get("metrics").properties().forEach(metric -> assertThat(result.metrics().get(metric.getKey()))
                .as(metric.getKey()).isCloseTo(metric.getValue().asDouble(), within(2e-5 * Math.max(1,
                        Math.abs(metric.getValue().asDouble())))));
        assertThat(result.metrics().keySet()).containsExactlyInAnyOrderElementsOf(
                golden.get("metrics").properties().stream().map(Map.Entry::getKey).toList());
        double largest = 0;
        double maxDifference = 0;
        for (var expected : golden.get("gradients").properties()) {
            float[] gradient = policy.model().parameter(expected.getKey()).gradient();
            assertThat(gradient).as(expected.getKey()).hasSize(expected.getValue().size());
            for (int i = 0; i < gradient.length; i++) {
                largest = Math.max(largest, Math.abs(expected.getValue().get(i).asDouble()));
                maxDifference = Math.max(maxDifference, Math.abs(gradient[i] - expected.getValue().get(i).asDouble()));
            }
        }
        assertThat(golden.get("gradients").size()).as("LoRA factors").isEqualTo(policy.tuning().trainableParameters().size());
        assertThat(maxDifference).as("max |Δ| over every LoRA gradient (largest %.3g)", largest)
                .isLessThan(1e-5 * Math.max(1, largest));
    }

    @ParameterizedTest(name = "case {0}")
    @ValueSource(ints = {0, 1, 2, 3, 4})
    @DisplayName("the gradients of the LoRA factors match central finite differences of each loss")
    void gradientsMatchFiniteDifferences(int index) throws Exception {
        JsonNode golden = JSON.readTree(GOLDEN.resolve("golden.json").toFile()).at("/cases/" + index);
        DpoConfig config = config(golden.get("config"));
        Policy policy = policy(true, 0);
        TokenBatch batch = pairs(10);
        ObjectiveSession<DpoConfig> session = new DpoTechnique().session(config, policy.context());
        List<Parameter> lora = policy.tuning().trainableParameters();
        var mismatches = GradientCheck.DEFAULT.withSamples(4).withStep(1e-2).withTolerance(1e-3, 0.02)
                .check(lora, backward -> session.step(config, batch, policy.engine(), 1f).loss());
        assertThat(mismatches).isEmpty();
    }
}
