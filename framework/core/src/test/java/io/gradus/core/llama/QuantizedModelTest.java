package io.gradus.core.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.kernel.Nf4;
import io.gradus.api.kernel.Nf4DoubleQuant;
import io.gradus.api.model.Linear;
import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.io.SafeTensors;
import io.gradus.kernels.cpu.CpuKernelBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * NF4 linear modules in the engine and bitsandbytes' file layout: a quantized model computes what
 * its dequantized float copy computes; what Gradus writes, an independent numpy reader
 * ({@code src/test/python/bnb_nf4_reader.py}) decodes to the same bytes and the same weights.
 */
class QuantizedModelTest {

    private static final CpuKernelBackend KERNELS = new CpuKernelBackend();

    /**
     * Odd widths so that the MLP weights have an odd element count and a short last 4-bit block,
     * and 311 scales each: one whole nested block of 256 and a partial one.
     */
    private static final LlamaConfig CONFIG = new LlamaConfig(50, 99, 201, 2, 4, 2, 8, 1e-5, 10000.0, 32, false, 1, 2);

    @TempDir
    Path dir;

    private static LinearTransform quantize(boolean doubleQuant) {
        return (name, loaded) -> QuantizedLinear.nf4(loaded.parameters().getFirst(), Nf4.DEFAULT_BLOCK_SIZE, doubleQuant);
    }

    /** Every NF4 module replaced by a dense one holding its dequantized weight. */
    private static LinearTransform dequantized(boolean doubleQuant) {
        return (name, loaded) -> {
            QuantizedWeight w = QuantizedWeight.nf4(loaded.parameters().getFirst(), Nf4.DEFAULT_BLOCK_SIZE, doubleQuant);
            float[] values = new float[w.size()];
            w.data().dequantize(KERNELS, values);
            return new DenseLinear(new Parameter(w.name(), w.shape(), values));
        };
    }

    private static TokenBatch batch() {
        int[] ids = new int[2 * 9];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7 + 3) % CONFIG.vocabSize();
        }
        return TokenBatch.nextToken(2, 9, ids);
    }

    private Path floatModel() throws IOException {
        Path folder = dir.resolve("float");
        LlamaModel.initialize(CONFIG, 21).save(folder);
        return folder;
    }

    @ParameterizedTest(name = "double quantization: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("the quantized model's logits and input gradients equal those of its dequantized float copy (within 1e-4)")
    void quantizedEqualsDequantizedCopy(boolean doubleQuant) throws IOException {
        Path folder = floatModel();
        LlamaModel quantized = LlamaModel.load(folder, quantize(doubleQuant));
        LlamaModel copy = LlamaModel.load(folder, dequantized(doubleQuant));
        assertThat(quantized.parameters()).noneMatch(p -> p.name().contains("_proj"));
        assertThat(quantized.quantizedWeights()).hasSize(14);
        assertThat(quantized.parameterCount()).isEqualTo(copy.parameterCount());

        // The embeddings train, so the gradient reaches every quantized module's input.
        quantized.embedTokens().setTrainable(true);
        copy.embedTokens().setTrainable(true);
        LlamaEngine a = new LlamaEngine(quantized, KERNELS);
        LlamaEngine b = new LlamaEngine(copy, KERNELS);
        float[] logitsA = a.forward(batch()).clone();
        float[] logitsB = b.forward(batch()).clone();
        assertThat(maxDifference(logitsA, logitsB)).as("max |Δ logit|").isLessThan(1e-4);

        float[] dLogits = new float[logitsA.length];
        KERNELS.crossEntropy(logitsA, 18, CONFIG.vocabSize(), batch().labels(), dLogits, 1f / 16);
        a.backward(dLogits);
        b.backward(dLogits);
        assertThat(maxDifference(quantized.embedTokens().gradient(), copy.embedTokens().gradient()))
                .as("max |Δ d loss/d embeddings|").isLessThan(1e-5);
    }

    @ParameterizedTest(name = "double quantization: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("saved in bitsandbytes' layout, the model loads back NF4 with every byte equal, and numpy decodes the same weights")
    void bitsAndBytesLayout(boolean doubleQuant) throws Exception {
        LlamaModel quantized = LlamaModel.load(floatModel(), quantize(doubleQuant));
        Path saved = dir.resolve("nf4");
        quantized.save(saved);

        LlamaModel loaded = LlamaModel.load(saved);
        assertThat(loaded.quantizedWeights()).containsExactlyElementsOf(quantized.quantizedWeights());
        assertThat(loaded.embedTokens().values()).containsExactly(quantized.embedTokens().values());
        JsonNode config = new ObjectMapper().readTree(saved.resolve("config.json").toFile()).get("quantization_config");
        assertThat(config.get("quant_method").asText()).isEqualTo("bitsandbytes");
        assertThat(config.get("load_in_4bit").asBoolean()).isTrue();
        assertThat(config.get("bnb_4bit_quant_type").asText()).isEqualTo("nf4");
        assertThat(config.get("bnb_4bit_use_double_quant").asBoolean()).isEqualTo(doubleQuant);
        assertThat(config.get("llm_int8_skip_modules").isNull()).isTrue();

        JsonNode reader = numpyReader(saved);
        assertThat(reader.get("quantization_config")).isEqualTo(config);
        assertThat(reader.get("weights").size()).isEqualTo(14);
        for (QuantizedWeight w : quantized.quantizedWeights()) {
            JsonNode read = reader.get("weights").get(w.name());
            assertThat(read.get("quant_state").get("quant_type").asText()).isEqualTo("nf4");
            assertThat(read.get("quant_state").get("blocksize").asInt()).isEqualTo(64);
            assertThat(read.get("quant_state").get("dtype").asText()).isEqualTo("float32");
            assertThat(read.get("quant_state").get("shape").toString()).isEqualTo(java.util.Arrays.toString(w.shape()).replace(" ", ""));
            assertThat(read.get("quant_state").has("nested_offset")).isEqualTo(doubleQuant);
            assertThat(read.get("packed_shape").toString()).isEqualTo("[" + (w.size() + 1) / 2 + ",1]");
            assertThat(read.get("packed_sha256").asText()).as(w.name()).isEqualTo(sha256(w.data().packed()));
            float[] values = new float[w.size()];
            w.data().dequantize(KERNELS, values);
            assertThat(read.get("dequantized_sha256").asText()).as(w.name()).isEqualTo(sha256(values));
            String absmaxType = reader.get("dtypes").get(w.name() + ".absmax").asText();
            assertThat(absmaxType).isEqualTo(doubleQuant ? "U8" : "F32");
        }
    }

    @Test
    @DisplayName("modules left in float are listed in llm_int8_skip_modules, with lm_head, as transformers expects")
    void partlyQuantized() throws IOException {
        LlamaModel model = LlamaModel.load(floatModel(),
                (name, loaded) -> name.endsWith("q_proj") ? quantize(true).apply(name, loaded) : loaded);
        model.save(dir.resolve("partly"));
        JsonNode skip = new ObjectMapper().readTree(dir.resolve("partly/config.json").toFile())
                .get("quantization_config").get("llm_int8_skip_modules");
        assertThat(skip).hasSize(1 + 2 * 6);
        assertThat(skip.get(0).asText()).isEqualTo("lm_head");
        assertThat(skip.toString()).contains("model.layers.1.mlp.down_proj").doesNotContain("q_proj");
        assertThat(LlamaModel.load(dir.resolve("partly")).quantizedWeights()).hasSize(2);
    }

    @Test
    @DisplayName("other quantization methods are refused by name; a truncated packed tensor or a disagreeing quant_state names the tensor")
    void badInput() throws IOException {
        Path folder = dir.resolve("nf4");
        LlamaModel.load(floatModel(), quantize(true)).save(folder);
        Path config = folder.resolve("config.json");
        String original = Files.readString(config);
        for (String method : List.of("gptq", "awq")) {
            Files.writeString(config, original.replace("\"quant_method\" : \"bitsandbytes\"", "\"quant_method\" : \"" + method + "\""));
            assertThatThrownBy(() -> LlamaModel.load(folder)).hasMessageContaining("quant_method '" + method + "'")
                    .hasMessageContaining("config.json");
        }
        Files.writeString(config, original.replace("\"load_in_8bit\" : false", "\"load_in_8bit\" : true"));
        assertThatThrownBy(() -> LlamaModel.load(folder)).hasMessageContaining("load_in_8bit");
        Files.writeString(config, original.replace("\"bnb_4bit_quant_type\" : \"nf4\"", "\"bnb_4bit_quant_type\" : \"fp4\""));
        assertThatThrownBy(() -> LlamaModel.load(folder)).hasMessageContaining("'fp4'");
        Files.writeString(config, original);

        String gate = "model.layers.1.mlp.gate_proj.weight";
        rewrite(folder, gate, new SafeTensors.U8Tensor(new int[] {100, 1}, new byte[100]));
        assertThatThrownBy(() -> LlamaModel.load(folder)).hasMessageContaining("tensor " + gate + " holds 100 bytes")
                .hasMessageContaining("truncated");

        LlamaModel.load(floatModel(), quantize(true)).save(folder);
        byte[] state = "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [99, 201]}"
                .getBytes(StandardCharsets.UTF_8);
        rewrite(folder, gate + ".quant_state.bitsandbytes__nf4", new SafeTensors.U8Tensor(new int[] {state.length}, state));
        assertThatThrownBy(() -> LlamaModel.load(folder)).hasMessageContaining(gate)
                .hasMessageContaining("[99, 201]").hasMessageContaining("[201, 99]");
    }

    /** Rewrites model.safetensors with one tensor replaced. */
    private static void rewrite(Path folder, String name, SafeTensors.Writable replacement) throws IOException {
        Path file = folder.resolve("model.safetensors");
        var tensors = new LinkedHashMap<String, SafeTensors.Writable>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (var info : st.tensors().values()) {
                tensors.put(info.name(), info.name().equals(name) ? replacement
                        : info.dtype() == io.gradus.core.io.DType.U8 ? new SafeTensors.U8Tensor(info.shape(), st.readBytes(info.name()))
                        : new SafeTensors.Tensor(info.shape(), st.read(info.name())));
            }
        }
        SafeTensors.write(file, tensors, Map.of());
    }

    @Test
    @DisplayName("an NF4 module's forward and input gradient equal a dense module's on the dequantized weight")
    void quantizedLinear() {
        Random random = new Random(3);
        float[] w = new float[70 * 130];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian() * 0.05f;
        }
        QuantizedLinear nf4 = QuantizedLinear.nf4(new Parameter("w", new int[] {70, 130}, w), 64, true);
        float[] dequantized = new float[w.length];
        nf4.weight().data().dequantize(KERNELS, dequantized);
        Linear dense = new DenseLinear(new Parameter("w", new int[] {70, 130}, dequantized));
        float[] x = new float[5 * 130];
        float[] dy = new float[5 * 70];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < dy.length; i++) {
            dy[i] = (float) random.nextGaussian();
        }
        float[] y1 = new float[5 * 70];
        float[] y2 = new float[5 * 70];
        nf4.forward(x, y1, 5, KERNELS);
        dense.forward(x, y2, 5, KERNELS);
        float[] dx1 = x.clone();
        float[] dx2 = x.clone();
        nf4.backward(x, dy, dx1, 5, KERNELS);
        dense.backward(x, dy, dx2, 5, KERNELS);
        for (int i = 0; i < y1.length; i++) {
            assertThat(y1[i]).isCloseTo(y2[i], offset(1e-5f));
        }
        for (int i = 0; i < dx1.length; i++) {
            assertThat(dx1[i]).isCloseTo(dx2[i], offset(1e-5f));
        }
        assertThat(nf4.parameters()).isEmpty();
        assertThat(nf4.quantizedWeights()).containsExactly(nf4.weight());
        assertThat(nf4.weight().bytes()).isEqualTo((w.length + 1) / 2 + 143 + 4 + 4);
        assertThat(nf4.weight().data()).isInstanceOf(Nf4DoubleQuant.class);
    }

    private static JsonNode numpyReader(Path model) throws Exception {
        Assumptions.assumeTrue(new ProcessBuilder("/usr/bin/python3", "-c", "import numpy").start().waitFor() == 0,
                "skipped: Debian's python3-numpy is not installed (.ci/run installs it)");
        Process p = new ProcessBuilder("/usr/bin/python3", "src/test/python/bnb_nf4_reader.py", model.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0).as(output).isTrue();
        return new ObjectMapper().readTree(output);
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static String sha256(float[] values) throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buffer.putFloat(v);
        }
        return sha256(buffer.array());
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
