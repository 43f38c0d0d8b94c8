package io.gradus.plugin.lora.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.kernel.Nf4;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.lora.LoraConfig;
import io.gradus.testkit.GradientCheck;
import io.gradus.testkit.TinyLlama;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA on an NF4 base (QLoRA): the same branch, a quantized base, and a merge that fits it. */
class LoraOnQuantizedBaseTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();
    /** Wide enough that weights span several NF4 blocks and, for the MLP, several nested blocks of 256. */
    private static final TinyLlama.Shape SHAPE = new TinyLlama.Shape(40, 96, 200, 2, 4, 2, 24);

    private static LlamaModel floatModel() {
        return TinyLlama.random(SHAPE, 0.1, 9).model();
    }

    /** The float model with every linear module replaced by an NF4 one, through the API as the qlora tuner does. */
    private static LlamaModel quantizedModel() {
        LlamaModel model = floatModel();
        for (var entry : List.copyOf(model.linears().entrySet())) {
            model.replaceLinear(entry.getKey(),
                    QuantizedLinear.nf4(entry.getValue().parameters().getFirst(), Nf4.DEFAULT_BLOCK_SIZE, true));
        }
        return model;
    }

    private static TokenBatch batch() {
        return TokenBatch.nextToken(2, 7, new int[] {1, 5, 9, 13, 17, 21, 25, 3, 7, 11, 15, 19, 23, 27});
    }

    private static float[] logits(LlamaModel model) {
        return new LlamaEngine(model, KERNELS).forward(batch()).clone();
    }

    private static LoraTechnique.LoraTuning adapt(LlamaModel model, String name, long seed) {
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, null, List.of("all-linear"), false, name));
        RandomFactors.randomizeB(tuning, 0.05, seed);
        return tuning;
    }

    @Test
    @DisplayName("with B = 0 the adapted NF4 model computes exactly the NF4 base; only A and B train, the base stays NF4")
    void startsFromTheQuantizedBase() {
        float[] base = logits(quantizedModel());
        LlamaModel model = quantizedModel();
        var tuning = new LoraTechnique().apply(model, new LoraConfig(4, 8.0, null, List.of("all-linear"), false, null));

        assertThat(logits(model)).containsExactly(base);
        assertThat(model.quantizedWeights()).hasSize(14);
        assertThat(model.parameters()).filteredOn(Parameter::trainable).containsExactlyElementsOf(tuning.trainableParameters());
        assertThat(model.parameters()).noneMatch(p -> p.name().endsWith("_proj.weight"));
    }

    @Test
    @DisplayName("the gradients of A and B through NF4 base modules match finite differences of the loss")
    void gradients() {
        LlamaModel model = quantizedModel();
        var tuning = adapt(model, null, 3);
        LlamaEngine engine = new LlamaEngine(model, KERNELS);
        assertThat(GradientCheck.DEFAULT.withSamples(1).withSeed(4).nextTokenLoss(engine, batch(), tuning.trainableParameters()))
                .isEmpty();
    }

    @Test
    @DisplayName("merging dequantizes and adds s·B·A (a float model when saved); unmerging computes from NF4 again, exactly")
    void mergeIntoQuantizedBase(@TempDir Path dir) throws IOException {
        LlamaModel model = quantizedModel();
        var tuning = adapt(model, null, 5);
        float[] unmerged = logits(model);

        tuning.merge(KERNELS);
        float[] merged = logits(model);
        double mergedVsUnmerged = maxDifference(merged, unmerged);
        assertThat(mergedVsUnmerged).as("max |Δ logit| merged vs unmerged").isLessThan(1e-4);
        assertThat(model.quantizedWeights()).isEmpty();
        assertThat(model.parameter("model.layers.1.mlp.down_proj.weight").size()).isEqualTo(96 * 200);

        model.save(dir.resolve("merged"));
        LlamaModel reloaded = LlamaModel.load(dir.resolve("merged"));
        assertThat(reloaded.quantizedWeights()).isEmpty();
        assertThat(maxDifference(logits(reloaded), merged)).isLessThan(1e-5);

        tuning.unmerge(KERNELS);
        assertThat(logits(model)).as("back on the NF4 weights").containsExactly(unmerged);
        assertThat(model.quantizedWeights()).hasSize(14);

        // What quantizing the base costs: the same adapter on the float base it was quantized from.
        LlamaModel floatBase = floatModel();
        adapt(floatBase, null, 5);
        double vsFloat = maxDifference(logits(floatBase), unmerged);
        System.out.printf("QLoRA merge: max |Δ logit| merged vs unmerged %.2e; NF4 base vs float base, same adapter %.2e%n",
                mergedVsUnmerged, vsFloat);
        assertThat(vsFloat).isGreaterThan(100 * mergedVsUnmerged);
    }

    @Test
    @DisplayName("two adapters on one NF4 base merge into one float copy and unmerge back to NF4 in any order")
    void nestedAdapters() {
        LlamaModel model = quantizedModel();
        var first = adapt(model, "first", 6);
        var second = adapt(model, "second", 7);
        float[] both = logits(model);

        second.merge(KERNELS);
        first.merge(KERNELS);
        assertThat(maxDifference(logits(model), both)).isLessThan(1e-4);
        second.unmerge(KERNELS);
        assertThat(maxDifference(logits(model), both)).isLessThan(1e-4);
        assertThat(model.quantizedWeights()).isEmpty();
        first.unmerge(KERNELS);
        assertThat(logits(model)).containsExactly(both);
        assertThat(model.quantizedWeights()).hasSize(14);
    }


    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
