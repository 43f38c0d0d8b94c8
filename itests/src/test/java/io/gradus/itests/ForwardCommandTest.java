package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus forward")
class ForwardCommandTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    Path dir;

    @Test
    @DisplayName("prints the logits of every position and the mean next-token loss, as JSON")
    void printsLogitsAndLoss() throws Exception {
        LlamaConfig config = new LlamaConfig(17, 8, 12, 2, 2, 1, 4, 1e-5, 10000.0, 32, false, 1, 2);
        LlamaModel model = LlamaModel.initialize(config, 3);
        model.save(dir);

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("forward", "--model", dir.toString(), "--ids", "1,5,16,3");
        assertThat(exit).as(err.toString()).isZero();
        JsonNode json = RunningHost.JSON.readTree(out.toString());

        // The same model through the engine, on the kernels of the running test host.
        KernelBackend kernels = HOST.host().awaitService(KernelBackend.class, null, Duration.ofSeconds(10)).orElseThrow();
        TokenBatch batch = TokenBatch.nextToken(1, 4, new int[] {1, 5, 16, 3});
        float[] expected = new LlamaEngine(LlamaModel.load(dir), kernels).forward(batch);
        double loss = kernels.crossEntropy(expected, 4, 17, batch.labels(), null, 1f) / 3;

        assertThat(json.get("logits").size()).isEqualTo(4);
        for (int t = 0; t < 4; t++) {
            assertThat(json.get("logits").get(t).size()).isEqualTo(17);
            for (int j = 0; j < 17; j++) {
                assertThat(json.get("logits").get(t).get(j).floatValue()).isEqualTo(expected[t * 17 + j]);
            }
        }
        assertThat(json.get("loss").asDouble()).isCloseTo(loss, org.assertj.core.api.Assertions.within(1e-9));
    }

    @Test
    @DisplayName("refuses a token outside the vocabulary, naming it and its position")
    void refusesUnknownToken() throws Exception {
        LlamaModel.initialize(new LlamaConfig(17, 8, 12, 1, 2, 1, 4, 1e-5, 10000.0, 32, false, 1, 2), 3).save(dir);
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
                .execute("forward", "--model", dir.toString(), "--ids", "1,17");
        assertThat(exit).isNotZero();
        assertThat(err.toString()).contains("token 17 (position 1)", "vocabulary of 17");
    }
}
