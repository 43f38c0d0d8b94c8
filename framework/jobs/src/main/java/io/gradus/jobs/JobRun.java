package io.gradus.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gradus.api.data.Example;
import io.gradus.api.event.EventHub;
import io.gradus.api.event.JobProgress;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.Technique;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.core.train.BatchSource;
import io.gradus.core.train.PackedTokens;
import io.gradus.core.train.PaddedExamples;
import io.gradus.core.train.Trainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

/**
 * One run of a job, from its spec to its output folder:
 * <pre>
 *   OUTPUT/model/            the trained model in the Hugging Face layout (full fine-tuning), or
 *   OUTPUT/adapter/          what the tuner saves of its own (LoRA: PEFT's adapter layout)
 *   OUTPUT/checkpoint/       the latest checkpoint; resuming continues from it
 *   OUTPUT/metrics.jsonl     one JSON line per optimizer step (and one per steering change)
 *   OUTPUT/eval.jsonl        held-out loss at every checkpoint, when the job names data.eval
 *   OUTPUT/job.json          the job as run (defaults filled in)
 *   OUTPUT/provenance.json   technique bundles and versions, base-model and data hashes, seed,
 *                            backend, every (re)start and every steering change
 *   OUTPUT/job.log           what the run said while it ran
 * </pre>
 * The run resolves the tuner and objective in the registry, binds their settings, loads the base
 * model, encodes the data through the objective, and trains, checking between steps whether it was
 * asked to stop (cancelled, evicted by a forced bundle operation) or to rewire to an updated
 * technique: it then writes a checkpoint and returns. Everything that can be checked before
 * training is checked before the output folder is touched.
 */
final class JobRun {

    /** Windows of seqLen tokens the held-out loss is measured on (the same ones every time). */
    private static final int EVAL_WINDOWS = 32;

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    /** What the run reports to whoever keeps the job's record. */
    interface Listener {
        /** Training starts (or resumes) with these techniques, at {@code step} of {@code totalSteps}. */
        void started(List<TechniqueDescriptor> techniques, long step, long totalSteps);

        void step(Trainer.StepMetrics metrics);

        /** A line for the person following the job. */
        void message(String text);

        void steered(long step, Map<String, Object> changes);
    }

    /** How a run ended without an error. */
    enum Ending {
        /** Every step done and the result saved (or the run had already finished). */
        FINISHED,
        /** Stopped on request after writing a checkpoint. */
        STOPPED,
        /** Stopped after writing a checkpoint, to continue on an updated technique bundle. */
        REWIRE
    }

    /**
     * @param result the trained model or adapter folder, when finished
     * @param alreadyFinished the output held a finished run: nothing was trained
     */
    record Outcome(Ending ending, Path output, Path result, int steps, boolean alreadyFinished) {}

    /** What a run needs from its host. */
    record Context(TechniqueCatalog catalog, EventHub events, KernelBackend kernels, Path defaultModel) {}

    private final String jobId;
    private final JobSpec spec;
    private final SubmitOptions options;
    private final Context context;
    private final Listener listener;
    private final Queue<Map<String, Object>> steeringRequests = new ConcurrentLinkedQueue<>();
    private volatile boolean stopRequested;
    private volatile boolean rewireRequested;
    private volatile Class<?> objectiveConfigType;

    /** @param spec the job, every path absolute */
    JobRun(String jobId, JobSpec spec, SubmitOptions options, Context context, Listener listener) {
        this.jobId = jobId;
        this.spec = spec;
        this.options = options;
        this.context = context;
        this.listener = listener;
    }

    /** Asks the run to write a checkpoint and stop before its next step. */
    void requestStop() {
        stopRequested = true;
    }

    /** Asks the run to write a checkpoint and stop so that it can continue on an updated technique. */
    void requestRewire() {
        rewireRequested = true;
    }

    /**
     * Queues a change of settings for the next step.
     *
     * @throws JobException INVALID when a setting cannot change, CONFLICT before training started
     */
    void steer(Map<String, Object> changes) {
        Class<?> type = objectiveConfigType;
        if (type == null) {
            throw new JobException(JobException.Reason.CONFLICT, "job " + jobId + " is still preparing; steer it once it trains");
        }
        Steering.check(changes, type);
        steeringRequests.add(Map.copyOf(changes));
    }

    /** The techniques a spec names, found in the registry. */
    record Techniques(TechniqueCatalog.Found<Tuner<?>> tuner, TechniqueCatalog.Found<Objective<?>> objective) {
        List<TechniqueDescriptor> descriptors() {
            return List.of(tuner.descriptor(), objective.descriptor());
        }
    }

    /**
     * Finds the spec's tuner and objective.
     *
     * @throws JobException INVALID naming the missing technique and listing what is installed
     */
    static Techniques resolve(TechniqueCatalog catalog, JobSpec spec) {
        try {
            var tuner = catalog.tuner(spec.tuner().name(), spec.tuner().version())
                    .orElseThrow(() -> missing(catalog, TechniqueFamily.TUNER, spec.tuner()));
            var objective = catalog.objective(spec.objective().name(), spec.objective().version())
                    .orElseThrow(() -> missing(catalog, TechniqueFamily.OBJECTIVE, spec.objective()));
            return new Techniques(tuner, objective);
        } catch (IllegalArgumentException e) {
            throw new JobException(JobException.Reason.INVALID, "job file: " + e.getMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    Outcome run() throws IOException {
        Techniques techniques = resolve(context.catalog(), spec);
        Tuner<Object> tuner = (Tuner<Object>) techniques.tuner().technique();
        Objective<Object> objective = (Objective<Object>) techniques.objective().technique();
        Object tunerConfig = bind(tuner, spec.tuner(), "tuner");
        Object objectiveConfig = bind(objective, spec.objective(), "objective");
        Path modelDir = JobData.modelFolder(spec, context.defaultModel());
        Path trainFile = Path.of(spec.data().train());
        Path evalFile = spec.data().eval() == null ? null : Path.of(spec.data().eval());
        Path output = Path.of(spec.output());
        checkOutput(spec, options);

        try (OutputFolder folder = OutputFolder.lock(output);
                Writer log = Files.newBufferedWriter(folder.resolve(OutputFolder.LOG), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            Listener say = new LoggingListener(listener, log);
            Checkpointed previous = options.resume() ? checkpointed(folder) : null;
            if (previous != null && previous.finished()) {
                say.message("already finished: " + previous.step() + " of " + spec.hyper().steps()
                        + " steps; nothing to resume (result in " + previous.result() + ")");
                return new Outcome(Ending.FINISHED, output, previous.result(), previous.step(), true);
            }
            if (!options.resume() && options.overwrite()) {
                folder.clearRun();
            }

            // The tuner's load transform (QLoRA: quantize) acts per module as it is read: peak memory
            // never holds the whole float model.
            LlamaModel model = LlamaModel.load(modelDir, tuner.loadTransform(tunerConfig));
            Tuning tuning = tuner.apply(model, tunerConfig, spec.seed());
            say.message(String.format("model %s: %,d parameters, %,d trainable (%.2f%%) with %s %s", modelDir,
                    model.parameterCount(), tuning.trainableCount(), 100.0 * tuning.trainableCount() / model.parameterCount(),
                    techniques.tuner().descriptor().name(), techniques.tuner().descriptor().version()));

            var hyper = spec.hyper();
            List<Example> examples;
            List<Example> heldOut = List.of();
            try (JobData data = new JobData(objective, objectiveConfig, techniques.objective().descriptor(),
                    HfTokenizer.load(modelDir), model.config(), modelDir)) {
                List<JobData.Record> records = data.read(trainFile, Integer.MAX_VALUE);
                data.warnAboutRecordsWithoutText(trainFile, records).ifPresent(say::message);
                examples = JobData.examples(records);
                if (evalFile != null) {
                    List<JobData.Record> evalRecords = data.read(evalFile, Integer.MAX_VALUE);
                    data.warnAboutRecordsWithoutText(evalFile, evalRecords).ifPresent(say::message);
                    heldOut = JobData.examples(evalRecords);
                    requireOneWindow(heldOut, hyper.seqLen(), evalFile);
                }
            }
            if (hyper.learningRate() == 0) {
                say.message("warning: hyper.learningRate is 0: no weight will change (the loss is measured, nothing is"
                        + " learned)");
            }
            if (hyper.packing()) {
                requireOneWindow(examples, hyper.seqLen(), trainFile);
            }
            BatchSource data = hyper.packing()
                    ? PackedTokens.of(examples, hyper.batchSize(), hyper.seqLen())
                    : new PaddedExamples(examples, hyper.batchSize(), hyper.seqLen(), Math.max(0, model.config().eosTokenId()));
            say.message(String.format("data %s: %,d examples, %,d tokens (%s); %d steps of %d x %d tokens (x%d accumulation)",
                    trainFile, examples.size(), examples.stream().mapToLong(e -> e.ids().length).sum(),
                    hyper.packing() ? "packed" : "one per row", hyper.steps(), hyper.batchSize(), hyper.seqLen(),
                    hyper.gradAccumulation()));
            say.message("kernels: " + context.kernels().name() + " (" + context.kernels().description() + ")");

            LlamaEngine engine = new LlamaEngine(model, context.kernels());
            Trainer<Object> trainer = new Trainer<>(engine, tuning.trainableParameters(), objective, objectiveConfig, data, hyper);
            Path checkpoint = folder.resolve(OutputFolder.CHECKPOINT);
            Map<String, Object> provenance;
            if (previous != null) {
                trainer.resume(checkpoint);
                say.message("resumed from " + checkpoint + " at step " + trainer.step());
                truncateAfter(folder.resolve(OutputFolder.METRICS), trainer.step());
                truncateAfter(folder.resolve(OutputFolder.EVALS), trainer.step());
                provenance = readProvenance(folder);
            } else {
                provenance = newProvenance(techniques, modelDir, trainFile);
            }
            addRunEntry(provenance, techniques, trainer.step());
            JSON.writerWithDefaultPrettyPrinter().writeValue(folder.resolve(OutputFolder.JOB).toFile(), spec);
            writeProvenance(folder, provenance);

            // Steering recorded for steps not run yet is replayed when they come; what is due now is applied now.
            TreeMap<Long, List<Map<String, Object>>> scheduled = new TreeMap<>();
            for (Steering.Change change : Steering.fromProvenance(provenance)) {
                scheduled.computeIfAbsent(change.step(), k -> new ArrayList<>()).add(change.changes());
            }
            Object config = objectiveConfig;
            for (var due : List.copyOf(scheduled.headMap((long) trainer.step() + 1, true).values())) {
                for (Map<String, Object> changes : due) {
                    config = Steering.apply(changes, trainer, config);
                }
            }
            scheduled.headMap((long) trainer.step() + 1, true).clear();
            objectiveConfigType = objectiveConfig.getClass();

            listener.started(techniques.descriptors(), trainer.step(), hyper.steps());
            int checkpointEvery = Math.max(1, hyper.steps() / 10);
            // Held-out loss at every checkpoint, on its own engine so the training activations stay put.
            LlamaEngine evalEngine = new LlamaEngine(model, context.kernels());
            // Frozen weights do not change during the job: a device backend may keep them resident.
            List<float[]> frozen = model.parameters().stream().filter(p -> !p.trainable()).map(Parameter::values).toList();
            frozen.forEach(context.kernels()::retain);
            try (Writer metrics = Files.newBufferedWriter(folder.resolve(OutputFolder.METRICS), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                    Writer evals = Files.newBufferedWriter(folder.resolve(OutputFolder.EVALS), StandardCharsets.UTF_8,
                            StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                tuning.setTraining(true);
                while (trainer.step() < hyper.steps()) {
                    if (stopRequested || rewireRequested) {
                        trainer.saveCheckpoint(checkpoint);
                        say.message("checkpoint written at step " + trainer.step() + "; stopped");
                        return new Outcome(stopRequested ? Ending.STOPPED : Ending.REWIRE, output, null, trainer.step(), false);
                    }
                    long next = trainer.step() + 1L;
                    for (Map<String, Object> changes : scheduled.getOrDefault(next, List.of())) {
                        config = Steering.apply(changes, trainer, config);
                        writeLine(metrics, Map.of("step", next, "steered", changes));
                        say.steered(next, changes);
                    }
                    for (Map<String, Object> changes; (changes = steeringRequests.poll()) != null; ) {
                        config = Steering.apply(changes, trainer, config);
                        recordSteering(provenance, next, changes);
                        writeProvenance(folder, provenance);
                        writeLine(metrics, Map.of("step", next, "steered", changes));
                        say.steered(next, changes);
                    }
                    Trainer.StepMetrics m = trainer.trainStep();
                    listener.step(m);
                    context.events().publish(new JobProgress(Instant.now(), jobId, m.step(), m.totalSteps(), m.loss(),
                            m.learningRate(), m.gradNorm(), m.tokensPerSecond(), m.etaSeconds()));
                    writeLine(metrics, m);
                    if (m.step() % checkpointEvery == 0 || m.step() == m.totalSteps()) {
                        trainer.saveCheckpoint(checkpoint);
                        if (!heldOut.isEmpty()) {
                            tuning.setTraining(false);
                            var eval = Evaluation.loss(evalEngine, context.kernels(), heldOut, hyper.seqLen(), EVAL_WINDOWS);
                            tuning.setTraining(true);
                            writeLine(evals, Map.of("step", m.step(), "loss", eval.loss(), "targets", eval.targets()));
                            say.message(String.format("held-out loss %.4f at step %d", eval.loss(), m.step()));
                        }
                    }
                }
            } finally {
                frozen.forEach(context.kernels()::release);
                tuning.setTraining(false);
            }
            Path result = folder.dir().resolve(folder.publish(dir -> {
                if (tuning.save(dir, new SafetensorsFiles(), modelDir.toString())) {
                    return OutputFolder.ADAPTER;
                }
                saveModel(model, modelDir, dir);
                return OutputFolder.MODEL;
            }));
            provenance.put("finished", Instant.now().toString());
            writeProvenance(folder, provenance);
            say.message("result in " + result);
            return new Outcome(Ending.FINISHED, output, result, trainer.step(), false);
        }
    }

    /** What the output folder says about an earlier run, read before resuming it. */
    private record Checkpointed(int step, boolean finished, Path result) {}

    /**
     * Refuses what would clobber or misuse the output folder, before anything is created in it: an
     * output that is a file, a resume without a checkpoint, a resume whose settings differ from the
     * checkpointed run's (unless changes are allowed), a fresh start over an earlier run (unless
     * overwriting). Called when a job is submitted and again when it starts.
     *
     * @param spec the job, paths absolute
     */
    static void checkOutput(JobSpec spec, SubmitOptions options) {
        Path output = Path.of(spec.output());
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new JobException(JobException.Reason.INVALID, "output " + output + " is a file, not a folder");
        }
        if (!options.resume()) {
            if (OutputFolder.holdsRun(output) && !options.overwrite()) {
                throw new JobException(JobException.Reason.CONFLICT, "output folder " + output + " already holds a run; "
                        + "resume it (--resume) or start over (--overwrite), or choose another output");
            }
            return;
        }
        if (!Files.isDirectory(output.resolve(OutputFolder.CHECKPOINT))) {
            throw new JobException(JobException.Reason.INVALID, "cannot resume: there is no checkpoint in " + output
                    + "; run the job without resume to start it");
        }
        Path jobFile = output.resolve(OutputFolder.JOB);
        if (Files.isRegularFile(jobFile) && !options.allowChanges()) {
            List<String> differences = new ArrayList<>();
            try {
                Map<String, Object> before = JSON.readValue(jobFile.toFile(), new TypeReference<>() {});
                Map<String, Object> now = JSON.convertValue(spec, new TypeReference<>() {});
                for (String section : List.of("model", "tuner", "objective", "data", "hyper", "seed")) {
                    diff(section, before.get(section), now.get(section), differences);
                }
            } catch (IOException e) {
                throw new JobException(JobException.Reason.INVALID, "cannot resume: " + jobFile + " cannot be read: "
                        + e.getMessage(), e);
            }
            // More steps is how a finished or stopped run is trained further: not a change of settings.
            differences.removeIf(d -> d.startsWith("hyper.steps "));
            if (!differences.isEmpty()) {
                throw new JobException(JobException.Reason.CONFLICT, "cannot resume: the job differs from the run in "
                        + output + ": " + String.join("; ", differences)
                        + ". Resume with the same settings, or allow the changes (--allow-changes)");
            }
        }
    }

    /** Reads the checkpointed run: how far it got, and whether it finished with its result saved. */
    private Checkpointed checkpointed(OutputFolder folder) throws IOException {
        var state = JSON.readTree(folder.resolve(OutputFolder.CHECKPOINT).resolve("trainer_state.json").toFile());
        int step = state.path("step").asInt();
        Path result = Files.isDirectory(folder.resolve(OutputFolder.ADAPTER)) ? folder.resolve(OutputFolder.ADAPTER)
                : Files.isDirectory(folder.resolve(OutputFolder.MODEL)) ? folder.resolve(OutputFolder.MODEL) : null;
        return new Checkpointed(step, step >= spec.hyper().steps() && result != null, result);
    }

    /** Adds "path: before → now" for every leaf that differs. */
    @SuppressWarnings("unchecked")
    private static void diff(String path, Object before, Object now, List<String> out) {
        if (before instanceof Map<?, ?> b && now instanceof Map<?, ?> n) {
            var keys = new java.util.TreeSet<String>();
            b.keySet().forEach(k -> keys.add(String.valueOf(k)));
            n.keySet().forEach(k -> keys.add(String.valueOf(k)));
            for (String key : keys) {
                diff(path + "." + key, ((Map<String, Object>) b).get(key), ((Map<String, Object>) n).get(key), out);
            }
        } else if (!Objects.equals(normalize(before), normalize(now))) {
            out.add(path + " " + before + " → " + now);
        }
    }

    private static Object normalize(Object value) {
        return value instanceof Number n ? n.doubleValue() : value;
    }

    private static void requireOneWindow(List<Example> examples, int seqLen, Path file) {
        long tokens = examples.stream().mapToLong(e -> e.ids().length).sum();
        if (tokens < seqLen + 1L) {
            throw new JobException(JobException.Reason.INVALID, file + " has " + tokens + " tokens, fewer than one window of "
                    + (seqLen + 1) + " (hyper.seqLen + 1): add data or lower seqLen");
        }
    }

    /** The technique's settings of the job bound to its configuration record. */
    static Object bind(Technique<?> technique, TechniqueRef ref, String role) {
        return JobFiles.bind(ref.config(), technique.configType(), role + " '" + ref.name() + "' config");
    }

    private static JobException missing(TechniqueCatalog catalog, TechniqueFamily family, TechniqueRef ref) {
        String available = catalog.techniques().stream()
                .filter(t -> t.family() == family)
                .map(t -> t.name() + " " + t.version())
                .collect(Collectors.joining(", "));
        return new JobException(JobException.Reason.INVALID, "no " + family.label() + " '" + ref.name() + "'"
                + (ref.version() == null ? "" : " in version range " + ref.version()) + " is installed; installed "
                + family.label() + "s: " + (available.isEmpty() ? "none" : available));
    }

    private static void saveModel(LlamaModel model, Path baseDir, Path target) throws IOException {
        model.save(target);
        for (String file : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")) {
            if (Files.isRegularFile(baseDir.resolve(file))) {
                Files.copy(baseDir.resolve(file), target.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** Keeps the lines of a JSONL file whose {@code step} is at most {@code step} (steering lines: at most step + 1). */
    private static void truncateAfter(Path file, int step) throws IOException {
        if (!Files.isRegularFile(file)) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            var node = JSON.readTree(line);
            long limit = node.has("steered") ? step + 1L : step;
            if (node.path("step").asLong() <= limit) {
                kept.add(line);
            }
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, kept, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void writeLine(Writer out, Object value) {
        try {
            out.write(JSON.writeValueAsString(value) + "\n");
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the job's metrics", e);
        }
    }

    private Map<String, Object> newProvenance(Techniques techniques, Path modelDir, Path trainFile) throws IOException {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("job", jobId);
        p.put("tuner", techniques.tuner().descriptor());
        p.put("objective", techniques.objective().descriptor());
        p.put("base_model", modelDir.toString());
        Path weights = modelDir.resolve("model.safetensors");
        p.put("base_model_sha256", Files.isRegularFile(weights) ? sha256(weights) : "sharded");
        p.put("data", trainFile.toString());
        p.put("data_sha256", sha256(trainFile));
        p.put("seed", spec.seed());
        p.put("backend", context.kernels().name() + ": " + context.kernels().description());
        p.put("started", Instant.now().toString());
        p.put("runs", new ArrayList<>());
        p.put("steering", new ArrayList<>());
        return p;
    }

    /** One entry per (re)start: when, from which step, with which technique versions. */
    @SuppressWarnings("unchecked")
    private static void addRunEntry(Map<String, Object> provenance, Techniques techniques, int fromStep) {
        var runs = (List<Object>) provenance.computeIfAbsent("runs", k -> new ArrayList<>());
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("started", Instant.now().toString());
        entry.put("from_step", fromStep);
        entry.put("tuner", techniques.tuner().descriptor().name() + " " + techniques.tuner().descriptor().version());
        entry.put("objective", techniques.objective().descriptor().name() + " " + techniques.objective().descriptor().version());
        runs.add(entry);
        provenance.put("tuner", techniques.tuner().descriptor());
        provenance.put("objective", techniques.objective().descriptor());
    }

    @SuppressWarnings("unchecked")
    private static void recordSteering(Map<String, Object> provenance, long step, Map<String, Object> changes) {
        var steering = (List<Object>) provenance.computeIfAbsent("steering", k -> new ArrayList<>());
        steering.add(Map.of("step", step, "changes", changes, "time", Instant.now().toString()));
    }

    private static Map<String, Object> readProvenance(OutputFolder folder) throws IOException {
        Path file = folder.resolve(OutputFolder.PROVENANCE);
        if (!Files.isRegularFile(file)) {
            return new LinkedHashMap<>();
        }
        return JSON.readValue(file.toFile(), new TypeReference<LinkedHashMap<String, Object>>() {});
    }

    private static void writeProvenance(OutputFolder folder, Map<String, Object> provenance) throws IOException {
        Path file = folder.resolve(OutputFolder.PROVENANCE);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), provenance);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Passes everything on, and keeps the run's messages in job.log too. */
    private record LoggingListener(Listener delegate, Writer log) implements Listener {
        @Override
        public void started(List<TechniqueDescriptor> techniques, long step, long totalSteps) {
            delegate.started(techniques, step, totalSteps);
        }

        @Override
        public void step(Trainer.StepMetrics metrics) {
            delegate.step(metrics);
        }

        @Override
        public void message(String text) {
            try {
                log.write(Instant.now() + " " + text + "\n");
                log.flush();
            } catch (IOException e) {
                // The log is a convenience copy; the message still reaches the listener.
            }
            delegate.message(text);
        }

        @Override
        public void steered(long step, Map<String, Object> changes) {
            message("steered from step " + step + ": " + changes);
            delegate.steered(step, changes);
        }
    }
}
