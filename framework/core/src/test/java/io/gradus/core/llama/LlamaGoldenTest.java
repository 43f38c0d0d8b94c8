package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine against an independent PyTorch implementation of LlamaForCausalLM
 * ({@code src/test/python/llama_reference.py}, which wrote the model folders and golden.json).
 */
class LlamaGoldenTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gqa-untied", "mha-tied-bf16"})
    @DisplayName("logits, loss and gradients equal PyTorch's within 1e-4")
    void matchesPyTorch(String name) throws Exception {
        Path folder = Path.of(LlamaGoldenTest.class.getResource("/golden/" + name).toURI());
        JsonNode golden = new ObjectMapper().readTree(folder.resolve("golden.json").toFile());
        LlamaModel model = LlamaModel.load(folder);
        model.parameters().forEach(p -> p.setTrainable(true));
        LlamaEngine engine = new LlamaEngine(model, KERNELS);

        JsonNode rows = golden.get("ids");
        int b = rows.size();
        int t = rows.get(0).size();
        int[] ids = new int[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = rows.get(i).get(j).asInt();
            }
        }
        TokenBatch batch = TokenBatch.nextToken(b, t, ids);
        float[] logits = engine.forward(batch).clone();
        assertThat(maxDifference(logits, golden.get("logits"))).as("max |logit - PyTorch|").isLessThan(TOLERANCE);

        int labelled = batch.countLabels();
        float[] dLogits = new float[logits.length];
        double loss = KERNELS.crossEntropy(logits, b * t, model.config().vocabSize(), batch.labels(), dLogits,
                1f / labelled) / labelled;
        assertThat(loss).as("mean next-token cross-entropy").isCloseTo(golden.get("loss").asDouble(),
                org.assertj.core.api.Assertions.within(TOLERANCE));

        engine.backward(dLogits);
        for (var entry : golden.get("gradients").properties()) {
            Parameter p = model.parameter(entry.getKey());
            assertThat(maxDifference(p.gradient(), entry.getValue())).as("max |d loss/d " + p.name() + " - PyTorch|")
                    .isLessThan(TOLERANCE);
        }
    }

    private static double maxDifference(float[] actual, JsonNode expected) {
        assertThat(actual).hasSize(expected.size());
        double max = 0;
        for (int i = 0; i < actual.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected.get(i).asDouble()));
        }
        return max;
    }

}
