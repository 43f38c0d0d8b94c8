package io.gradus.samples.ia3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.model.Linear;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.TechniqueException;
import io.gradus.testkit.GradientCheck;
import io.gradus.testkit.TinyLlama;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.SequencedMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Ia3TechniqueTest {

    private final Ia3Technique ia3 = new Ia3Technique();

    private static Ia3Technique.Ia3Tuning apply(TinyLlama tiny) {
        return (Ia3Technique.Ia3Tuning) new Ia3Technique().apply(tiny.model(), Ia3Config.defaults());
    }

    /** Draws every vector from 1 + N(0, 0.3²), as training would move it away from ones. */
    private static void randomize(Ia3Technique.Ia3Tuning tuning, long seed) {
        Random random = new Random(seed);
        for (Parameter l : tuning.trainableParameters()) {
            for (int i = 0; i < l.size(); i++) {
                l.values()[i] = (float) (1 + 0.3 * random.nextGaussian());
            }
        }
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    private static double maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    @Test
    @DisplayName("forward and backward of each kind of IA³ module match the PyTorch rendering of PEFT's layer within 1e-4")
    void matchesPyTorch() throws IOException {
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/ia3_golden.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        for (JsonNode c : golden.get("cases")) {
            String module = c.get("module").asText();
            int rows = c.get("rows").asInt();
            TinyLlama tiny = TinyLlama.random(1);
            Linear dense = tiny.model().linears().get(module);
            float[] weight = floats(c.get("weight"));
            System.arraycopy(weight, 0, dense.parameters().getFirst().values(), 0, weight.length);
            Ia3Layer layer = apply(tiny).layers().get(module);
            assertThat(layer.feedforward()).as(module).isEqualTo(c.get("feedforward").asBoolean());
            assertThat(layer.scale().shape()).as(module).containsExactly(c.get("l_shape").get(0).asInt(), c.get("l_shape").get(1).asInt());
            float[] l = floats(c.get("l"));
            System.arraycopy(l, 0, layer.scale().values(), 0, l.length);

            float[] x = floats(c.get("x"));
            float[] y = new float[rows * c.get("out").asInt()];
            layer.forward(x, y, rows, tiny.kernels());
            float[] dx = new float[x.length];
            layer.backward(x, floats(c.get("dy")), dx, rows, tiny.kernels());

            assertThat(maxDifference(y, floats(c.get("y")))).as(module + " y").isLessThanOrEqualTo(1e-4);
            assertThat(maxDifference(dx, floats(c.get("dx")))).as(module + " dx").isLessThanOrEqualTo(1e-4);
            assertThat(maxDifference(layer.scale().gradient(), floats(c.get("dl")))).as(module + " dl").isLessThanOrEqualTo(1e-4);
        }
    }

    @Test
    @DisplayName("with its vectors at ones the adapted model computes exactly the base model; only the vectors train")
    void startsFromTheBase() {
        TinyLlama tiny = TinyLlama.random(2);
        TokenBatch batch = tiny.batch(2, 6, 1);
        float[] base = tiny.forward(batch).clone();

        Ia3Technique.Ia3Tuning tuning = apply(tiny);

        assertThat(tiny.forward(batch)).containsExactly(base);
        assertThat(tuning.layers()).hasSize(6).allSatisfy((module, layer) -> assertThat(module).matches(".*(k_proj|v_proj|down_proj)"));
        // k_proj and v_proj scale 8 outputs, down_proj 24 inputs; two layers.
        assertThat(tuning.trainableCount()).isEqualTo(2 * (8 + 8 + 24));
        assertThat(tiny.model().parameters()).filteredOn(Parameter::trainable).containsExactlyElementsOf(tuning.trainableParameters());
    }

    @Test
    @DisplayName("the vectors' gradients through the whole model match finite differences")
    void gradientsMatchFiniteDifferences() {
        TinyLlama tiny = TinyLlama.random(3);
        Ia3Technique.Ia3Tuning tuning = apply(tiny);
        randomize(tuning, 5);

        assertThat(GradientCheck.DEFAULT.withSamples(4).nextTokenLoss(tiny, tiny.batch(2, 6, 2), tuning.trainableParameters()))
                .isEmpty();
    }

    @Test
    @DisplayName("an adapter is saved in PEFT's IA³ layout and loads back onto a fresh base to the same outputs")
    void savesAndLoadsPeftLayout(@TempDir Path dir) throws IOException {
        TinyLlama trained = TinyLlama.random(4);
        Ia3Technique.Ia3Tuning tuning = apply(trained);
        randomize(tuning, 6);
        TokenBatch batch = trained.batch(2, 6, 3);
        float[] expected = trained.forward(batch).clone();

        assertThat(tuning.save(dir, TinyLlama.tensorFiles(), "base-model")).isTrue();

        JsonNode config = new ObjectMapper().readTree(Files.readString(dir.resolve("adapter_config.json")));
        assertThat(config.get("peft_type").asText()).isEqualTo("IA3");
        assertThat(config.get("target_modules")).extracting(JsonNode::asText).containsExactly("down_proj", "k_proj", "v_proj");
        assertThat(config.get("feedforward_modules")).extracting(JsonNode::asText).containsExactly("down_proj");
        assertThat(config.get("base_model_name_or_path").asText()).isEqualTo("base-model");
        SequencedMap<String, Parameter> tensors = TinyLlama.tensorFiles().read(dir.resolve("adapter_model.safetensors"));
        assertThat(tensors).hasSize(6);
        assertThat(tensors.get("base_model.model.model.layers.0.self_attn.k_proj.ia3_l").shape()).containsExactly(8, 1);
        assertThat(tensors.get("base_model.model.model.layers.1.mlp.down_proj.ia3_l").shape()).containsExactly(1, 24);

        TinyLlama fresh = TinyLlama.random(4);
        ia3.load(fresh.model(), new Ia3Config(List.of("k_proj", "v_proj", "down_proj"), List.of("down_proj")), tensors);
        assertThat(fresh.forward(batch)).containsExactly(expected);
    }

    @Test
    @DisplayName("settings PEFT refuses are refused, naming what is wrong")
    void refusesBadSettings() {
        assertThatThrownBy(() -> new Ia3Config(List.of("k_proj"), List.of("down_proj")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("subset of targetModules");
        assertThatThrownBy(() -> ia3.apply(TinyLlama.random(1).model(), new Ia3Config(List.of("c_attn"), List.of())))
                .isInstanceOf(TechniqueException.class).hasMessageContaining("'c_attn'");
    }
}
