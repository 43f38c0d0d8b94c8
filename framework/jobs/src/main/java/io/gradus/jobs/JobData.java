package io.gradus.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobException;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Batching;
import io.gradus.api.technique.Objective;
import io.gradus.core.train.BatchSource;
import io.gradus.core.train.GroupedExamples;
import io.gradus.core.train.PackedTokens;
import io.gradus.core.train.PaddedExamples;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A job's data, read through its objective and batched as the objective says ({@link Batching}):
 * text examples packed into windows or one per row, or whole groups of sequences (preference pairs)
 * in adjacent rows. Every record is read before training starts, so a bad one stops the job with its
 * file, line and the objective's words on the field, before any step is spent.
 *
 * @param train the training batches
 * @param heldOut the held-out batches evaluated at every checkpoint (empty without {@code data.eval})
 * @param summary one line on what was read, for the job's log
 */
record JobData(BatchSource train, List<TokenBatch> heldOut, String summary) {

    /** Windows of seqLen tokens the held-out loss of text objectives is measured on (the same ones every time). */
    static final int EVAL_WINDOWS = 32;

    /** Held-out groups (pairs) evaluated at every checkpoint: the first ones of the file. */
    static final int EVAL_GROUPS = 256;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param tokenizer the model's tokenizer, which also refuses token ids outside the model's vocabulary
     * @param padId the id that fills rows after their sequence (the model's pad id, or EOS)
     * @param seed the job's seed: training groups are taken in an order of its own each epoch
     * @param say where messages for the job's log go
     */
    static JobData read(Path trainFile, Path evalFile, Objective<Object> objective, Object config,
            TokenizerAdapter tokenizer, Hyperparameters hyper, int padId, long seed, Consumer<String> say)
            throws IOException {
        Encoding encoding = new Encoding(objective, config, tokenizer);
        if (objective.batching(config) == Batching.GROUPS) {
            Groups train = groups(trainFile, encoding, hyper.seqLen(), say);
            GroupedExamples source = new GroupedExamples(train.groups(), train.indices(), hyper.batchSize(), hyper.seqLen(),
                    padId, seed);
            List<TokenBatch> heldOut = new ArrayList<>();
            if (evalFile != null) {
                Groups eval = groups(evalFile, encoding, hyper.seqLen(), say);
                int kept = Math.min(EVAL_GROUPS, eval.groups().size());
                new GroupedExamples(eval.groups().subList(0, kept), java.util.Arrays.copyOf(eval.indices(), kept),
                        hyper.batchSize(), hyper.seqLen(), padId).pass().forEach(heldOut::add);
            }
            return new JobData(source, heldOut, String.format("%,d groups of %d sequences, %,d tokens, in a new order each "
                    + "epoch; %d steps of %d groups (%d rows) x %d tokens (x%d accumulation)", train.groups().size(),
                    train.groups().getFirst().sequences().size(), train.tokens(), hyper.steps(), hyper.batchSize(),
                    hyper.batchSize() * train.groups().getFirst().sequences().size(), hyper.seqLen(), hyper.gradAccumulation()));
        }
        List<Example> examples = examples(trainFile, encoding);
        List<TokenBatch> heldOut = List.of();
        if (evalFile != null) {
            List<Example> eval = examples(evalFile, encoding);
            requireOneWindow(eval, hyper.seqLen(), evalFile);
            heldOut = Evaluation.windows(eval, hyper.seqLen(), EVAL_WINDOWS);
        }
        if (hyper.packing()) {
            requireOneWindow(examples, hyper.seqLen(), trainFile);
        }
        BatchSource source = hyper.packing()
                ? PackedTokens.of(examples, hyper.batchSize(), hyper.seqLen())
                : new PaddedExamples(examples, hyper.batchSize(), hyper.seqLen(), padId);
        return new JobData(source, heldOut, String.format("%,d examples, %,d tokens (%s); %d steps of %d x %d tokens "
                + "(x%d accumulation)", examples.size(), examples.stream().mapToLong(e -> e.ids().length).sum(),
                hyper.packing() ? "packed" : "one per row", hyper.steps(), hyper.batchSize(), hyper.seqLen(),
                hyper.gradAccumulation()));
    }

    /** One record per non-blank line, parsed, with its 1-based line number. */
    private interface RecordReader {
        void read(Map<String, Object> record, int line);
    }

    /** Reads the JSONL file; a line that is not a JSON object, or that the reader refuses, is an error naming file and line. */
    private static void records(Path file, RecordReader reader) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new JobException(JobException.Reason.INVALID, "data file " + file + " does not exist");
        }
        boolean any = false;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNumber = 0;
            for (String line; (line = in.readLine()) != null; ) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                any = true;
                try {
                    reader.read(JSON.readValue(line, new TypeReference<Map<String, Object>>() {}), lineNumber);
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new JobException(JobException.Reason.INVALID, file + ":" + lineNumber + ": not a JSON object ("
                            + JobFiles.explain(e).replaceFirst("^line \\d+: ", "") + ")", e);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    throw new JobException(JobException.Reason.INVALID, file + ":" + lineNumber + ": " + e.getMessage(), e);
                }
            }
        }
        if (!any) {
            throw new JobException(JobException.Reason.INVALID, "data file " + file + " has no records");
        }
    }

    /** The objective's encoding of records, with token ids checked against the model's vocabulary. */
    private record Encoding(Objective<Object> objective, Object config, TokenizerAdapter tokenizer) {

        Example example(Map<String, Object> record) {
            return checked(objective.encode(config, record, tokenizer));
        }

        SequenceGroup group(Map<String, Object> record) {
            SequenceGroup group = objective.encodeGroup(config, record, tokenizer);
            group.sequences().forEach(this::checked);
            return group;
        }

        private Example checked(Example example) {
            tokenizer.requireInVocabulary(example.ids());
            return example;
        }
    }

    private static List<Example> examples(Path file, Encoding encoding) throws IOException {
        List<Example> examples = new ArrayList<>();
        records(file, (record, line) -> examples.add(encoding.example(record)));
        return examples;
    }

    /** The groups of a file that fit in a row, with their record indices and token count. */
    private record Groups(List<SequenceGroup> groups, int[] indices, long tokens) {}

    /**
     * Reads every record into a group; groups with a sequence longer than {@code seqLen} are left out
     * (TRL's {@code max_length} filter), counted in the log.
     */
    private static Groups groups(Path file, Encoding encoding, int seqLen, Consumer<String> say) throws IOException {
        List<SequenceGroup> groups = new ArrayList<>();
        List<Integer> indices = new ArrayList<>();
        int[] records = {0};
        int[] tooLong = {0};
        long[] tokens = {0};
        records(file, (record, line) -> {
            SequenceGroup group = encoding.group(record);
            int index = records[0]++;
            if (group.sequences().stream().anyMatch(e -> e.ids().length > seqLen)) {
                tooLong[0]++;
                return;
            }
            if (!groups.isEmpty() && group.sequences().size() != groups.getFirst().sequences().size()) {
                throw new IllegalArgumentException("the record gives " + group.sequences().size() + " sequences, the "
                        + "first one " + groups.getFirst().sequences().size());
            }
            groups.add(group);
            indices.add(index);
            tokens[0] += group.sequences().stream().mapToLong(e -> e.ids().length).sum();
        });
        if (tooLong[0] > 0) {
            say.accept(String.format("%s: %,d of %,d records left out: a sequence is longer than seqLen %d", file,
                    tooLong[0], records[0], seqLen));
        }
        if (groups.isEmpty()) {
            throw new JobException(JobException.Reason.INVALID, file + ": every record has a sequence longer than seqLen "
                    + seqLen + ": raise hyper.seqLen");
        }
        return new Groups(groups, indices.stream().mapToInt(Integer::intValue).toArray(), tokens[0]);
    }

    private static void requireOneWindow(List<Example> examples, int seqLen, Path file) {
        long tokens = examples.stream().mapToLong(e -> e.ids().length).sum();
        if (tokens < seqLen + 1L) {
            throw new JobException(JobException.Reason.INVALID, file + " has " + tokens + " tokens, fewer than one window of "
                    + (seqLen + 1) + " (hyper.seqLen + 1): add data or lower seqLen");
        }
    }
}
