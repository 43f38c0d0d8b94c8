package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.Sampling;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus generate")
class GenerateCommandTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    Path dir;

    @Test
    @DisplayName("prints the prompt and its greedy continuation, decoded by the model's tokenizer")
    void greedyContinuation() throws Exception {
        // A byte-level BPE tokenizer of 261 tokens and a random model of that vocabulary.
        Files.copy(Path.of(GenerateCommandTest.class.getResource("/byte-bpe/tokenizer.json").toURI()),
                dir.resolve("tokenizer.json"));
        LlamaModel model = LlamaModel.initialize(new LlamaConfig(261, 16, 24, 1, 2, 1, 8, 1e-5, 10000.0, 64, false, 259, 260), 4);
        model.save(dir);

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("generate", "--model", dir.toString(), "--prompt", "hello", "--max-new-tokens", "8");
        assertThat(exit).as(err.toString()).isZero();

        KernelBackend kernels = HOST.host().awaitService(KernelBackend.class, null, Duration.ofSeconds(10)).orElseThrow();
        try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            int[] continuation = new Generator(LlamaModel.load(dir), kernels, 32)
                    .generate(tokenizer.encode("hello"), Sampling.greedy(8), 260, t -> {});
            String expected = "hello" + tokenizer.decode(continuation, true);
            assertThat(out.toString().stripTrailing()).isEqualTo(expected.stripTrailing());
        }
    }

    @Test
    @DisplayName("--adapter with bottleneck adapters in the AdapterHub layout: the continuation of the model with the adapters")
    @SuppressWarnings("unchecked")
    void withAdapterHubAdapter() throws Exception {
        Files.copy(Path.of(GenerateCommandTest.class.getResource("/byte-bpe/tokenizer.json").toURI()),
                dir.resolve("tokenizer.json"));
        LlamaModel.initialize(new LlamaConfig(261, 16, 24, 2, 2, 1, 8, 1e-5, 10000.0, 64, false, 259, 260), 4).save(dir);
        // Houlsby adapters as a training job saves them, with weights far from the identity's.
        LlamaModel adapted = LlamaModel.load(dir);
        Tuner<Object> tuner = (Tuner<Object>) HOST.host().catalog().tuner("adapters", null).orElseThrow().technique();
        Tuning tuning = tuner.apply(adapted, RunningHost.JSON.convertValue(Map.of("reductionFactor", 4), tuner.configType()), 7);
        Random random = new Random(3);
        for (Parameter p : tuning.trainableParameters()) {
            for (int i = 0; i < p.size(); i++) {
                p.values()[i] = (float) random.nextGaussian();
            }
        }
        Path adapter = dir.resolve("adapter");
        tuning.save(adapter, new SafetensorsFiles(), dir.toString());

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute("generate",
                "--model", dir.toString(), "--adapter", adapter.toString(), "--prompt", "hello", "--max-new-tokens", "8");
        assertThat(exit).as(err.toString()).isZero();

        KernelBackend kernels = HOST.host().awaitService(KernelBackend.class, null, Duration.ofSeconds(10)).orElseThrow();
        try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            int[] prompt = tokenizer.encode("hello");
            int[] withAdapter = new Generator(adapted, kernels, 32).generate(prompt, Sampling.greedy(8), 260, t -> {});
            int[] withoutAdapter = new Generator(LlamaModel.load(dir), kernels, 32)
                    .generate(prompt, Sampling.greedy(8), 260, t -> {});
            assertThat(withAdapter).as("the adapters change the continuation").isNotEqualTo(withoutAdapter);
            assertThat(out.toString().stripTrailing()).isEqualTo(("hello" + tokenizer.decode(withAdapter, true)).stripTrailing());
        }
    }
}
