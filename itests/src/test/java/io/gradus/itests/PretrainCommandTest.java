package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.core.llama.LlamaModel;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus pretrain")
class PretrainCommandTest {

    @TempDir
    Path cache;

    @Test
    @DisplayName("builds tokenizer and model from WordNet, trains, evaluates, and becomes the default model")
    void pretrainsTheDefaultModel() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        System.setProperty("gradus.cache", cache.toString());
        StringWriter err = new StringWriter();
        // README's `./gradus pretrain`, made tiny: its full run takes minutes.
        String[] readme = ReadmeCommands.inline("./gradus pretrain", Map.of(), false);
        int exit = Gradus.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
                .execute(Stream.concat(Arrays.stream(readme), Stream.of("--steps", "12", "--vocab", "320", "--hidden", "32",
                        "--layers", "1", "--seq", "32", "--batch", "4", "--lr", "1e-2")).toArray(String[]::new));
        assertThat(exit).as(err.toString()).isZero();

        Path folder = cache.resolve("models/wordnet");
        JsonNode eval = RunningHost.JSON.readTree(folder.resolve("eval.json").toFile());
        for (String field : new String[] {"heldout_loss", "unigram_loss", "tokens_seen", "wall_seconds"}) {
            assertThat(eval.get(field).asDouble()).as(field).isPositive();
        }
        assertThat(eval.get("tokens_seen").asLong()).isEqualTo(12 * 4 * 32);
        assertThat(eval.get("samples")).hasSize(3);
        assertThat(eval.get("last_train_loss").asDouble()).isLessThan(eval.get("first_train_loss").asDouble());
        LlamaModel model = LlamaModel.load(folder.resolve("model"));
        assertThat(model.config().vocabSize()).isEqualTo(320);

        // Without --model, commands use the built-in model.
        StringWriter out = new StringWriter();
        exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err = new StringWriter()))
                .execute("generate", "--prompt", "bank (noun):", "--max-new-tokens", "5");
        assertThat(exit).as(err.toString()).isZero();
        assertThat(out.toString()).startsWith("bank (noun):");
    }
}
