package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.Example;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.technique.Objective;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.JsonlRecords;
import io.gradus.jobs.SequenceScorer;
import io.gradus.jobs.TokenizerAdapter;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradus score}: a reward model's scores of the records of a JSONL file. */
@Command(
        name = "score",
        mixinStandardHelpOptions = true,
        description = {
            "Score the records of a JSONL file with a reward model (a LlamaForSequenceClassification folder, or a base",
            "model with a SEQ_CLS adapter): one JSON line per record, in order. A preference pair (TRL's chosen/rejected",
            "fields, as text, messages or token ids) gives {\"chosen_score\": x, \"rejected_score\": y}; a single text,",
            "prompt + completion, messages or input_ids record gives {\"score\": x}."
        })
final class ScoreCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions options;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "JSONL records to score.")
    Path data;

    @Override
    public Integer call() throws Exception {
        Path modelDir = options.folder(spec.commandLine());
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            LlamaModel model = LlamaModel.load(modelDir);
            KernelBackend kernels = options.prepare(quiet, model, spec.commandLine().getErr());
            SequenceScorer scorer = new SequenceScorer(model, kernels);
            @SuppressWarnings("unchecked")
            Objective<Object> reward = (Objective<Object>) quiet.host().catalog().objective("reward", null)
                    .orElseThrow(() -> new IllegalStateException("the reward technique is not installed")).technique();
            Object config = JSON.convertValue(Map.of(), reward.configType());
            List<Integer> sequencesPerRecord = new ArrayList<>();
            List<Example> sequences = new ArrayList<>();
            try (HfTokenizer tokenizer = Files.isRegularFile(modelDir.resolve("tokenizer.json"))
                    ? HfTokenizer.load(modelDir) : null) {
                TokenizerAdapter text = TokenizerAdapter.of(tokenizer, model.config(), modelDir);
                JsonlRecords.read(data, Integer.MAX_VALUE, (line, record) -> {
                    // TRL's preference fields all start with chosen or rejected.
                    List<Example> encoded = record.keySet().stream()
                            .anyMatch(k -> k.startsWith("chosen") || k.startsWith("rejected"))
                            ? reward.encodeGroup(config, record, text).sequences()
                            : List.of(reward.encode(config, record, text));
                    for (Example e : encoded) {
                        text.requireInVocabulary(e.ids());
                        if (e.ids().length > model.config().maxPositions()) {
                            throw new IllegalArgumentException("a sequence of " + e.ids().length
                                    + " tokens is longer than the model's " + model.config().maxPositions() + " positions");
                        }
                    }
                    sequences.addAll(encoded);
                    sequencesPerRecord.add(encoded.size());
                });
            }
            float[] scores = scorer.scores(sequences);
            PrintWriter out = spec.commandLine().getOut();
            int at = 0;
            for (int count : sequencesPerRecord) {
                Map<String, Object> line = new LinkedHashMap<>();
                if (count == 2) {
                    line.put("chosen_score", scores[at]);
                    line.put("rejected_score", scores[at + 1]);
                } else {
                    line.put("score", scores[at]);
                }
                at += count;
                out.println(JSON.writeValueAsString(line));
            }
            out.flush();
        }
        return 0;
    }
}
