package io.gradus.itests;

import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A job small enough for an integration test, written into a folder: a two-layer Llama with a
 * byte-level tokenizer ({@code base/}), 100 short sentences ({@code train.jsonl}) and 20 of them held
 * out ({@code eval.jsonl}); {@link #yaml} is a job file over them.
 */
final class TinyJob {

    private TinyJob() {}

    /** Writes the base model and the data into {@code dir}. */
    static void write(Path dir) throws IOException, URISyntaxException {
        Path base = Files.createDirectories(dir.resolve("base"));
        Files.copy(Path.of(TinyJob.class.getResource("/byte-bpe/tokenizer.json").toURI()), base.resolve("tokenizer.json"));
        LlamaModel.initialize(new LlamaConfig(261, 32, 64, 2, 4, 2, 8, 1e-5, 10000.0, 128, false, 259, 260), 1).save(base);
        Random random = new Random(0);
        String[] words = "the cat sat on a mat and the dog ran to the park".split(" ");
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 6 + random.nextInt(6); w++) {
                text.append(w == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
            }
            jsonl.append("{\"text\": \"").append(text).append(".\"}\n");
        }
        Files.writeString(dir.resolve("train.jsonl"), jsonl);
        Files.writeString(dir.resolve("eval.jsonl"), String.join("\n", jsonl.toString().lines().limit(20).toList()));
    }

    /** Full fine-tuning with the pre-training objective for {@code steps} steps, into {@code output}. */
    static String yaml(int steps, String output) {
        return """
                name: tiny
                model: base
                tuner: {name: full, version: "[1.0,2.0)"}
                objective: {name: pretrain}
                data: {train: train.jsonl, eval: eval.jsonl}
                hyper: {steps: %d, batchSize: 4, seqLen: 32, learningRate: 0.003, warmupSteps: 2, schedule: linear}
                output: %s
                """.formatted(steps, output);
    }
}
