package io.gradus.jobs;

import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Batching;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.core.train.BatchSource;
import io.gradus.core.train.GroupedExamples;
import io.gradus.core.train.PackedTokens;
import io.gradus.core.train.PaddedExamples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A job's data as its objective encodes it: the JSONL records read through {@link Objective#encode}
 * (or {@link Objective#encodeGroup} for an objective that batches {@link Batching#GROUPS}: preference
 * pairs), with the model's tokenizer, every token id checked against the model's vocabulary.
 * {@link JobRun} trains on what this gives ({@link #batches}) and {@code gradus data} shows it
 * ({@link #read}), so the view and the training cannot differ.
 *
 * <p>Every record is read before training starts, so a bad one stops the job with its file and
 * line and the objective's words on the field before any step is spent ({@link JsonlRecords} words
 * the errors of the file itself). Records that train on no text are a warning.
 */
public final class JobData implements AutoCloseable {

    /** Windows of seqLen tokens the held-out loss of text objectives is measured on (the same ones every time). */
    static final int EVAL_WINDOWS = 32;

    /** Held-out groups (pairs) evaluated at every checkpoint: the first ones of the file. */
    static final int EVAL_GROUPS = 256;

    /** Lines listed by name in a warning; more are counted. */
    private static final int LINES_LISTED = 10;

    /**
     * One record as the objective encoded it.
     *
     * @param line the record's 1-based line in its file
     * @param sequences what goes through the model: the one sequence of a text objective's record, or
     *     the sequences of a grouped objective's record in row order (a preference pair: chosen, then
     *     rejected)
     * @param values the named numbers a grouped record carries ({@code margin}); empty for text
     */
    public record Record(int line, List<Example> sequences, Map<String, Double> values) {

        public Record {
            sequences = List.copyOf(sequences);
            values = Map.copyOf(values);
        }

        /** The record of a text objective. */
        static Record of(int line, Example example) {
            return new Record(line, List.of(example), Map.of());
        }

        /** The record of a grouped objective. */
        static Record of(int line, SequenceGroup group) {
            return new Record(line, group.sequences(), group.values());
        }

        /** The sequences as a group, for a grouped objective's batches. */
        SequenceGroup group() {
            return new SequenceGroup(sequences, values);
        }
    }

    /**
     * What a job trains and evaluates on.
     *
     * @param train the training batches
     * @param heldOut the held-out batches evaluated at every checkpoint (empty without {@code data.eval})
     * @param summary one line on what was read, for the job's log
     */
    record Batches(BatchSource train, List<TokenBatch> heldOut, String summary) {}

    private final Objective<Object> objective;
    private final Object config;
    private final TechniqueDescriptor descriptor;
    private final HfTokenizer tokenizer;
    private final TokenizerAdapter text;
    private final boolean grouped;

    /**
     * @param tokenizer the model's tokenizer, closed with this; null for a model folder without
     *     {@code tokenizer.json} (records must then give token ids)
     * @param model the model's configuration (BOS and EOS ids, vocabulary size)
     * @param modelDir the model folder (its chat template)
     */
    JobData(Objective<Object> objective, Object config, TechniqueDescriptor descriptor, HfTokenizer tokenizer,
            LlamaConfig model, Path modelDir) {
        this.objective = objective;
        this.config = config;
        this.descriptor = descriptor;
        this.tokenizer = tokenizer;
        this.text = TokenizerAdapter.of(tokenizer, model, modelDir);
        this.grouped = objective.batching(config) == Batching.GROUPS;
    }

    /**
     * The data of a job as a job run would read it: its objective found in {@code catalog} and bound
     * to its settings, the tokenizer and configuration of its model.
     *
     * @param spec the job, every path absolute ({@link JobFiles#resolve})
     * @param defaultModel the model of a job that names none
     * @throws JobException (INVALID) for a technique that is not installed, settings that do not bind,
     *     a model folder without {@code config.json}
     * @throws IOException when the tokenizer or configuration cannot be read (naming the file)
     */
    @SuppressWarnings("unchecked")
    public static JobData open(JobSpec spec, TechniqueCatalog catalog, Path defaultModel) throws IOException {
        JobRun.Techniques techniques = JobRun.resolve(catalog, spec);
        Objective<Object> objective = (Objective<Object>) techniques.objective().technique();
        Object config = JobRun.bind(objective, spec.objective(), "objective");
        Path modelDir = modelFolder(spec, defaultModel);
        LlamaConfig model = LlamaConfig.read(modelDir.resolve("config.json"));
        return new JobData(objective, config, techniques.objective().descriptor(), tokenizer(modelDir), model, modelDir);
    }

    /** The tokenizer of a model folder, or null when it has no {@code tokenizer.json} (pre-tokenized data only). */
    static HfTokenizer tokenizer(Path modelDir) throws IOException {
        return Files.isRegularFile(modelDir.resolve("tokenizer.json")) ? HfTokenizer.load(modelDir) : null;
    }

    /**
     * The job's model folder: the one it names, or the built-in one.
     *
     * @throws JobException (INVALID) when the folder has no {@code config.json}
     */
    static Path modelFolder(JobSpec spec, Path defaultModel) {
        Path modelDir = spec.model() != null ? Path.of(spec.model()) : defaultModel;
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new JobException(JobException.Reason.INVALID, spec.model() != null
                    ? "model folder " + modelDir + " has no config.json"
                    : "the job names no model and the built-in one does not exist yet (" + modelDir
                            + "); create it with: ./gradus pretrain");
        }
        return modelDir;
    }

    /** The objective that encodes the records. */
    public TechniqueDescriptor objective() {
        return descriptor;
    }

    /** The model's tokenizer, to show tokens as text; empty for a model folder without {@code tokenizer.json}. */
    public Optional<HfTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /** The model's tokenizer as the techniques see it (open until this is closed). */
    TokenizerAdapter text() {
        return text;
    }

    /** Whether a record is a group of sequences trained together (a preference pair) rather than one text. */
    public boolean grouped() {
        return grouped;
    }

    /**
     * Encodes the first {@code limit} records of {@code file} (blank lines are not records).
     *
     * @throws JobException (INVALID) naming the file and line of a record that is not a JSON object,
     *     that the objective refuses or that holds a token id outside the vocabulary, or the file when
     *     it does not exist, is not UTF-8 or has no record
     */
    public List<Record> read(Path file, int limit) throws IOException {
        List<Record> records = new ArrayList<>();
        JsonlRecords.read(file, limit, (line, record) -> records.add(grouped
                ? Record.of(line, checked(objective.encodeGroup(config, record, text)))
                : Record.of(line, checked(objective.encode(config, record, text)))));
        return records;
    }

    private SequenceGroup checked(SequenceGroup group) {
        group.sequences().forEach(this::checked);
        return group;
    }

    private Example checked(Example example) {
        text.requireInVocabulary(example.ids());
        return example;
    }

    /**
     * Every record of the job's files batched as the objective says ({@link Batching}): text examples
     * packed into windows or one per row, or whole groups of sequences (preference pairs) in adjacent
     * rows. Warnings (records that train on no text, groups left out for their length) go to
     * {@code say}.
     *
     * @param evalFile the held-out data, or null
     * @param padId the id that fills rows after their sequence (the model's pad id, or EOS)
     * @param seed the job's seed: the training windows, rows or groups are taken in an order of its own each epoch
     */
    Batches batches(Path trainFile, Path evalFile, Hyperparameters hyper, int padId, long seed, Consumer<String> say)
            throws IOException {
        List<Record> train = readAll(trainFile, say);
        List<Record> eval = evalFile == null ? null : readAll(evalFile, say);
        if (grouped) {
            Groups groups = groups(trainFile, train, hyper.seqLen(), say);
            GroupedExamples source = new GroupedExamples(groups.groups(), groups.indices(), hyper.batchSize(),
                    hyper.seqLen(), padId, seed);
            List<TokenBatch> heldOut = new ArrayList<>();
            if (eval != null) {
                Groups held = groups(evalFile, eval, hyper.seqLen(), say);
                int kept = Math.min(EVAL_GROUPS, held.groups().size());
                new GroupedExamples(held.groups().subList(0, kept), Arrays.copyOf(held.indices(), kept), hyper.batchSize(),
                        hyper.seqLen(), padId).pass().forEach(heldOut::add);
            }
            int groupSize = groups.groups().getFirst().sequences().size();
            return new Batches(source, heldOut, String.format("%,d groups of %d sequences, %,d tokens, in a new order "
                    + "each epoch; %d steps of %d groups (%d rows) x %d tokens (x%d accumulation)", groups.groups().size(), groupSize, groups.tokens(),
                    hyper.steps(), hyper.batchSize(), hyper.batchSize() * groupSize, hyper.seqLen(),
                    hyper.gradAccumulation()));
        }
        List<Example> examples = examples(train);
        List<TokenBatch> heldOut = List.of();
        if (eval != null) {
            List<Example> held = examples(eval);
            requireOneWindow(held, hyper.seqLen(), evalFile);
            heldOut = Evaluation.windows(held, hyper.seqLen(), EVAL_WINDOWS);
        }
        if (hyper.packing()) {
            requireOneWindow(examples, hyper.seqLen(), trainFile);
        }
        BatchSource source = hyper.packing()
                ? PackedTokens.of(examples, hyper.batchSize(), hyper.seqLen(), seed)
                : new PaddedExamples(examples, hyper.batchSize(), hyper.seqLen(), padId, seed);
        return new Batches(source, heldOut, String.format("%,d examples, %,d tokens (%s, in a new order each epoch); %d steps of %d x %d tokens "
                + "(x%d accumulation)", examples.size(), examples.stream().mapToLong(e -> e.ids().length).sum(),
                hyper.packing() ? "packed" : "one per row", hyper.steps(), hyper.batchSize(), hyper.seqLen(),
                hyper.gradAccumulation()));
    }

    /** Every record of {@code file}, with the warning about records that train on no text. */
    private List<Record> readAll(Path file, Consumer<String> say) throws IOException {
        List<Record> records = read(file, Integer.MAX_VALUE);
        warnAboutRecordsWithoutText(file, records).ifPresent(say);
        return records;
    }

    private static List<Example> examples(List<Record> records) {
        return records.stream().map(r -> r.sequences().getFirst()).toList();
    }

    /** The groups of a file that fit in a row, with their record indices and token count. */
    private record Groups(List<SequenceGroup> groups, int[] indices, long tokens) {}

    /**
     * The records as groups; those with a sequence longer than {@code seqLen} are left out (TRL's
     * {@code max_length} filter), counted in a message.
     *
     * @throws JobException (INVALID) naming the line of a record with another number of sequences than
     *     the first, or when no record fits
     */
    private static Groups groups(Path file, List<Record> records, int seqLen, Consumer<String> say) {
        List<SequenceGroup> groups = new ArrayList<>();
        List<Integer> indices = new ArrayList<>();
        int tooLong = 0;
        long tokens = 0;
        int size = records.getFirst().sequences().size();
        for (int index = 0; index < records.size(); index++) {
            Record record = records.get(index);
            if (record.sequences().size() != size) {
                throw new JobException(JobException.Reason.INVALID, file + ":" + record.line() + ": the record gives "
                        + record.sequences().size() + " sequences, the first one " + size);
            }
            if (longerThan(record, seqLen)) {
                tooLong++;
                continue;
            }
            groups.add(record.group());
            indices.add(index);
            tokens += record.sequences().stream().mapToLong(e -> e.ids().length).sum();
        }
        if (tooLong > 0) {
            say.accept(String.format("%s: %,d of %,d records left out: a sequence is longer than seqLen %d", file, tooLong,
                    records.size(), seqLen));
        }
        if (groups.isEmpty()) {
            throw new JobException(JobException.Reason.INVALID, file + ": every record has a sequence longer than seqLen "
                    + seqLen + ": raise hyper.seqLen");
        }
        return new Groups(groups, indices.stream().mapToInt(Integer::intValue).toArray(), tokens);
    }

    /**
     * Whether a grouped record is left out of training because one of its sequences is longer than
     * {@code seqLen} (text records are packed or cut, never left out).
     */
    public boolean leftOut(Record record, int seqLen) {
        return grouped && longerThan(record, seqLen);
    }

    private static boolean longerThan(Record record, int seqLen) {
        return record.sequences().stream().anyMatch(e -> e.ids().length > seqLen);
    }

    private static void requireOneWindow(List<Example> examples, int seqLen, Path file) {
        long tokens = examples.stream().mapToLong(e -> e.ids().length).sum();
        if (tokens < seqLen + 1L) {
            throw new JobException(JobException.Reason.INVALID, file + " has " + tokens + " tokens, fewer than one window of "
                    + (seqLen + 1) + " (hyper.seqLen + 1): add data or lower seqLen");
        }
    }

    /**
     * Whether a sequence trains on any text: whether its trained tokens, special tokens left out,
     * decode to more than whitespace. An empty completion or assistant answer trains only its end
     * marker. Without a tokenizer (pre-tokenized data) the text is unknown: any trained token counts.
     */
    public boolean trainsOnText(Example example) {
        int[] ids = example.ids();
        int trained = 0;
        int[] targets = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (example.targets()[i]) {
                targets[trained++] = ids[i];
            }
        }
        return trained > 0 && (tokenizer == null || !tokenizer.decode(Arrays.copyOf(targets, trained), true).isBlank());
    }

    /**
     * A warning about the records of {@code file} that train on no text (see {@link #trainsOnText};
     * a group, when any of its sequences does not), naming their lines; empty when every record
     * trains on some text.
     */
    public Optional<String> warnAboutRecordsWithoutText(Path file, List<Record> records) {
        List<Integer> lines = records.stream().filter(r -> !r.sequences().stream().allMatch(this::trainsOnText))
                .map(Record::line).toList();
        if (lines.isEmpty()) {
            return Optional.empty();
        }
        String listed = lines.stream().limit(LINES_LISTED).map(String::valueOf).collect(Collectors.joining(", "))
                + (lines.size() > LINES_LISTED ? " and " + (lines.size() - LINES_LISTED) + " more" : "");
        return Optional.of("warning: " + file + ": " + (lines.size() == 1 ? "1 record trains" : lines.size() + " records train")
                + " on no text, only special tokens (an empty completion or answer?): line" + (lines.size() == 1 ? " " : "s ")
                + listed);
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
