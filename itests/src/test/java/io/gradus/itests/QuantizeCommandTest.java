package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.model.Sampling;
import io.gradus.api.model.TokenBatch;
import io.gradus.cli.Gradus;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.Adapters;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradus quantize} as README.md shows it, and the NF4 folder it writes used everywhere a model
 * is: read back by an independent numpy reader of bitsandbytes' layout, run by {@code forward} and
 * {@code generate} with its weights kept in NF4, trained on with QLoRA, and the QLoRA adapter merged.
 */
@DisplayName("gradus quantize")
class QuantizeCommandTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    Path dir;

    private Path base;
    private StringWriter out;
    private StringWriter err;

    @BeforeEach
    void tinyModel() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        TinyJob.write(dir);
        base = dir.resolve("base");
    }

    private int gradus(String... args) {
        out = new StringWriter();
        err = new StringWriter();
        return Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    }

    private int quantize(Path target, boolean optional, String blockSize) throws Exception {
        return gradus(ReadmeCommands.gradus("./gradus quantize ",
                Map.of("DIR", base.toString(), "DIR2", target.toString(), "64", blockSize), optional));
    }

    private KernelBackend kernels() throws InterruptedException {
        return HOST.host().awaitService(KernelBackend.class, null, Duration.ofSeconds(10)).orElseThrow();
    }

    @Test
    @DisplayName("writes bitsandbytes' NF4 layout that an independent reader decodes to Gradus' own quantization, with the tokenizer; says the bytes")
    void writesBitsAndBytesLayout() throws Exception {
        Path nf4 = dir.resolve("nf4");
        assertThat(quantize(nf4, false, "64")).as(err.toString()).isZero();
        assertThat(out.toString()).contains("quantized 14 linear weights", "blocks of 64, double quantization",
                "18,432 values, 73,728 bytes in float32 -> 9,616 bytes in NF4", "weight files: ");
        assertThat(nf4.resolve("tokenizer.json")).hasSameBinaryContentAs(base.resolve("tokenizer.json"));
        checkAgainstReader(nf4, 64, true);

        Path plain = dir.resolve("nf4-plain");
        assertThat(quantize(plain, true, "128")).as(err.toString()).isZero();
        assertThat(out.toString()).contains("blocks of 128, float scales");
        checkAgainstReader(plain, 128, false);
    }

    /** The numpy reader's packed and dequantized bytes of every weight are those of Gradus quantizing the float weight. */
    private void checkAgainstReader(Path folder, int blockSize, boolean doubleQuant) throws Exception {
        JsonNode reader = numpyReader(folder);
        assertThat(reader.at("/quantization_config/quant_method").asText()).isEqualTo("bitsandbytes");
        assertThat(reader.at("/quantization_config/bnb_4bit_use_double_quant").asBoolean()).isEqualTo(doubleQuant);
        LlamaModel original = LlamaModel.load(base);
        assertThat(reader.get("weights").size()).isEqualTo(14);
        for (String module : original.linears().keySet()) {
            String name = module + ".weight";
            QuantizedWeight expected = QuantizedWeight.nf4(original.parameter(name), blockSize, doubleQuant);
            JsonNode read = reader.get("weights").get(name);
            assertThat(read.at("/quant_state/blocksize").asInt()).isEqualTo(blockSize);
            assertThat(read.at("/quant_state").has("nested_offset")).isEqualTo(doubleQuant);
            assertThat(read.get("packed_sha256").asText()).as(name).isEqualTo(sha256(expected.data().packed()));
            float[] values = new float[expected.size()];
            expected.data().dequantize(kernels(), values);
            ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                bytes.putFloat(v);
            }
            assertThat(read.get("dequantized_sha256").asText()).as(name).isEqualTo(sha256(bytes.array()));
            assertThat(reader.get("dtypes").get(name + ".absmax").asText()).isEqualTo(doubleQuant ? "U8" : "F32");
        }
    }

    @Test
    @DisplayName("forward and generate keep the weights in NF4: the engine's NF4 results, not the float model's")
    void forwardAndGenerateInNf4() throws Exception {
        Path nf4 = dir.resolve("nf4");
        assertThat(quantize(nf4, false, "64")).as(err.toString()).isZero();
        assertThat(gradus(ReadmeCommands.gradus("./gradus forward --model DIR --ids", Map.of("DIR", nf4.toString(),
                "1,2,3", "5,80,99,3"), false))).as(err.toString()).isZero();
        assertThat(err.toString()).contains("14 linear weights stay in NF4: 9,616 bytes for 18,432 weights");
        int[] ids = {5, 80, 99, 3};
        LlamaModel quantized = LlamaModel.load(nf4);
        assertThat(quantized.quantizedWeights()).hasSize(14);
        float[] expected = new LlamaEngine(quantized, kernels()).forward(TokenBatch.nextToken(1, 4, ids));
        float[] floats = new LlamaEngine(LlamaModel.load(base), kernels()).forward(TokenBatch.nextToken(1, 4, ids));
        float[] printed = ForwardJson.logits(out.toString());
        assertThat(printed).containsExactly(expected);
        assertThat(ForwardJson.maxDifference(printed, floats)).as("the float model computes otherwise").isGreaterThan(1e-4);

        assertThat(gradus(ReadmeCommands.gradus("./gradus generate --model DIR ", Map.of("DIR", nf4.toString()), false)))
                .as(err.toString()).isZero();
        assertThat(err.toString()).contains("14 linear weights stay in NF4");
        try (HfTokenizer tokenizer = HfTokenizer.load(nf4)) {
            int[] continuation = new Generator(quantized, kernels(), 128).generate(tokenizer.encode("Once upon a time"),
                    Sampling.greedy(50), 260, t -> {});
            assertThat(out.toString().stripTrailing())
                    .isEqualTo(("Once upon a time" + tokenizer.decode(continuation, true)).stripTrailing());

            // With README's sampling options: temperature 0.8, top-p 0.9, seed 1.
            assertThat(gradus(ReadmeCommands.gradus("./gradus generate --model DIR ", Map.of("DIR", nf4.toString()), true)))
                    .as(err.toString()).isZero();
            int[] sampled = new Generator(quantized, kernels(), 128).generate(tokenizer.encode("Once upon a time"),
                    new Sampling(0.8, 0, 0.9, 50, 1), 260, t -> {});
            assertThat(out.toString().stripTrailing())
                    .isEqualTo(("Once upon a time" + tokenizer.decode(sampled, true)).stripTrailing());
        }
    }

    @Test
    @DisplayName("a QLoRA job trains on the NF4 folder, its base staying NF4; --merge gives the unmerged adapter's logits within 1e-5")
    void qloraOnTheFolderAndMerge() throws Exception {
        Path nf4 = dir.resolve("nf4");
        assertThat(quantize(nf4, false, "64")).as(err.toString()).isZero();
        String job = TinyJob.yaml(8, "out").replace("model: base", "model: nf4")
                .replace("tuner: {name: full, version: \"[1.0,2.0)\"}",
                        "tuner: {name: qlora, config: {lora: {r: 4, loraAlpha: 8, targetModules: [all-linear]}}}")
                .replace("learningRate: 0.003", "learningRate: 0.02");
        Files.writeString(dir.resolve("job.yaml"), job);
        assertThat(gradus("train", dir.resolve("job.yaml").toString())).as(err.toString()).isZero();
        assertThat(Files.readString(dir.resolve("out/job.log"))).contains("frozen base: 14 linear weights in NF4, 9,616 bytes for 18,432 weights");
        Path adapter = dir.resolve("out/adapter");

        String ids = "5,80,99,3,17,42";
        assertThat(gradus("forward", "--model", nf4.toString(), "--adapter", adapter.toString(), "--ids", ids))
                .as(err.toString()).isZero();
        float[] unmerged = ForwardJson.logits(out.toString());
        assertThat(gradus("forward", "--model", nf4.toString(), "--adapter", adapter.toString(), "--ids", ids, "--merge"))
                .as(err.toString()).isZero();
        assertThat(err.toString()).contains("merged into the NF4 base");
        float[] merged = ForwardJson.logits(out.toString());

        LlamaModel model = LlamaModel.load(nf4);
        float[] base = new LlamaEngine(model, kernels()).forward(TokenBatch.nextToken(1, 6, new int[] {5, 80, 99, 3, 17, 42}));
        Adapters.apply(model, adapter, HOST.host().catalog());
        float[] expected = new LlamaEngine(model, kernels()).forward(TokenBatch.nextToken(1, 6, new int[] {5, 80, 99, 3, 17, 42}));
        assertThat(unmerged).containsExactly(expected);
        assertThat(ForwardJson.maxDifference(unmerged, base)).as("the adapter changes the logits").isGreaterThan(1e-3);
        double lost = ForwardJson.maxDifference(merged, unmerged);
        System.out.printf("QLoRA merge: max |logit merged - unmerged| = %.3g%n", lost);
        assertThat(lost).as("max |logit merged - unmerged|").isLessThan(1e-5);
    }

    @Test
    @DisplayName("refuses a folder that is quantized already, a block size bitsandbytes does not take, and an output folder in use")
    void refusals() throws Exception {
        Path nf4 = dir.resolve("nf4");
        assertThat(quantize(nf4, false, "64")).as(err.toString()).isZero();
        assertThat(gradus("quantize", "--model", nf4.toString(), "--out", dir.resolve("again").toString())).isNotZero();
        assertThat(err.toString()).contains(nf4 + " is quantized already");
        assertThat(gradus("quantize", "--model", base.toString(), "--out", dir.resolve("odd").toString(), "--blocksize", "100"))
                .isNotZero();
        assertThat(err.toString()).contains("--blocksize must be one of bitsandbytes' [32, 64, 128", "was 100");
        assertThat(quantize(nf4, false, "64")).isNotZero();
        assertThat(err.toString()).contains("--out " + nf4 + " exists and is not an empty folder");
    }

    private static JsonNode numpyReader(Path model) throws Exception {
        Assumptions.assumeTrue(new ProcessBuilder("/usr/bin/python3", "-c", "import numpy").start().waitFor() == 0,
                "skipped: Debian's python3-numpy is not installed (.ci/run installs it)");
        Process p = new ProcessBuilder("/usr/bin/python3", "../framework/core/src/test/python/bnb_nf4_reader.py",
                model.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0).as(output).isTrue();
        return RunningHost.JSON.readTree(output);
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
