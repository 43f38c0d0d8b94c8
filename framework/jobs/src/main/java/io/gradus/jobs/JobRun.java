package io.gradus.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gradus.api.event.EventHub;
import io.gradus.api.event.JobEvaluated;
import io.gradus.api.event.JobProgress;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.OutputHead;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.Technique;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.Trainer;
import io.gradus.core.train.TrainingContext;
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
import java.time.Duration;
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
 *   OUTPUT/eval.jsonl        held-out metrics at every checkpoint (the objective's; next-token loss by
 *                            default), when the job names data.eval
 *   OUTPUT/samples.jsonl     at every checkpoint, the objective's rows for people (PPO: prompts,
 *                            responses, scores), when it has any
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

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    /** What the run reports to whoever keeps the job's record. */
    interface Listener {
        /** The run found its techniques: from now on it uses their bundles (they are pinned). */
        void resolved(List<TechniqueDescriptor> techniques);

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
    record Outcome(Ending ending, Path result, boolean alreadyFinished) {}

    /**
     * What a run needs from its host.
     *
     * @param applyTimeout how long the tuner's {@code apply} may take before the job fails
     */
    record Context(TechniqueCatalog catalog, EventHub events, KernelBackend kernels, Path defaultModel,
            Duration applyTimeout) {}

    private final String jobId;
    private final JobSpec spec;
    private final SubmitOptions options;
    private final Context context;
    private final Listener listener;
    private final Queue<Map<String, Object>> steeringRequests = new ConcurrentLinkedQueue<>();
    private volatile boolean stopRequested;
    private volatile boolean rewireRequested;
    /** The objective's configuration as the run uses it now (steering changes it); null while preparing. */
    private volatile Object objectiveConfigNow;

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
        Object config = objectiveConfigNow;
        if (config == null) {
            throw new JobException(JobException.Reason.CONFLICT, "job " + jobId + " is still preparing; steer it once it trains");
        }
        Steering.check(changes, config);
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

    /**
     * Runs the job. What a technique's code throws fails the run with a message naming the
     * technique, its bundle and version ({@link TechniqueFaults}).
     */
    Outcome run() throws IOException {
        Techniques techniques = resolve(context.catalog(), spec);
        listener.resolved(techniques.descriptors());
        TechniqueFaults faults = new TechniqueFaults(List.of(techniques.tuner(), techniques.objective()));
        try {
            return run(techniques, faults);
        } catch (RuntimeException | Error e) {
            var failure = faults.blame(e);
            if (failure.isPresent()) {
                throw failure.get();
            }
            throw e;
        }
    }

    @SuppressWarnings("unchecked")
    private Outcome run(Techniques techniques, TechniqueFaults faults) throws IOException {
        Tuner<Object> tuner = (Tuner<Object>) techniques.tuner().technique();
        Objective<Object> objective = (Objective<Object>) techniques.objective().technique();
        Object tunerConfig = bind(tuner, spec.tuner(), "tuner");
        Object objectiveConfig = bind(objective, spec.objective(), "objective");
        Path modelDir = JobData.modelFolder(spec, context.defaultModel());
        Path trainFile = Path.of(spec.data().train());
        Path evalFile = spec.data().eval() == null ? null : Path.of(spec.data().eval());
        Path output = Path.of(spec.output());
        checkOutput(spec, options);
        OutputHead head = objective.outputHead(objectiveConfig);
        Adapters.Saved startingAdapter = startingAdapter(head);

        try (OutputFolder folder = OutputFolder.lock(output);
                Writer log = Files.newBufferedWriter(folder.resolve(OutputFolder.LOG), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            Listener say = new LoggingListener(listener, log);
            Checkpointed previous = options.resume() ? checkpointed(folder) : null;
            if (previous != null && previous.finished()) {
                say.message("already finished: " + previous.step() + " of " + spec.hyper().steps()
                        + " steps; nothing to resume (result in " + previous.result() + ")");
                return new Outcome(Ending.FINISHED, previous.result(), true);
            }

            // The tuner's load transform (QLoRA: quantize) acts per module as it is read: peak memory
            // never holds the whole float model.
            LlamaModel model = LlamaModel.load(modelDir, tuner.loadTransform(tunerConfig));
            fitHead(model, head, modelDir, say);
            Tuning tuning = faults.applyWithin(context.applyTimeout(), techniques.tuner().descriptor(),
                    () -> startingAdapter == null ? tuner.apply(model, tunerConfig, spec.seed())
                            : loadAdapter(model, startingAdapter, tuner, tunerConfig));
            if (stopRequested) {
                return stoppedWhilePreparing(say);
            }
            say.message(String.format("model %s: %,d parameters, %,d trainable (%.2f%%) with %s %s", modelDir,
                    model.parameterCount(), tuning.trainableCount(), 100.0 * tuning.trainableCount() / model.parameterCount(),
                    techniques.tuner().descriptor().name(), techniques.tuner().descriptor().version()));
            List<QuantizedWeight> quantized = model.quantizedWeights();
            if (!quantized.isEmpty()) {
                say.message(String.format("frozen base: %d linear weights in NF4, %,d bytes for %,d weights", quantized.size(),
                        quantized.stream().mapToLong(QuantizedWeight::bytes).sum(),
                        quantized.stream().mapToLong(QuantizedWeight::size).sum()));
            }

            var hyper = spec.hyper();
            // Rows are padded with the model's pad id (a score head reads past trailing ones), else EOS.
            int padId = model.scoreHead().map(h -> h.padTokenId()).filter(id -> id >= 0)
                    .orElse(Math.max(0, model.config().eosTokenId()));
            // The data's tokenizer stays open for the run: objectives decode what they show people (PPO's samples).
            try (JobData reader = new JobData(objective, objectiveConfig, techniques.objective().descriptor(),
                    JobData.tokenizer(modelDir), model.config(), modelDir)) {
                JobData.Batches data = reader.batches(trainFile, evalFile, hyper, padId, spec.seed(), say::message);
                return train(techniques, objective, objectiveConfig, model, modelDir, tuning, data, reader.text(), trainFile,
                        folder, previous, say);
            }
        }
    }

    /** Trains on the data read: the part of a run that needs the model's tokenizer open. */
    private Outcome train(Techniques techniques, Objective<Object> objective, Object objectiveConfig, LlamaModel model,
            Path modelDir, Tuning tuning, JobData.Batches data, TokenizerAdapter text, Path trainFile, OutputFolder folder,
            Checkpointed previous, Listener say) throws IOException {
        var hyper = spec.hyper();
        say.message("data " + trainFile + ": " + data.summary());
        if (hyper.learningRate() == 0) {
            say.message("warning: hyper.learningRate is 0: no weight will change (the loss is measured, nothing is"
                    + " learned)");
        }
        if (stopRequested) {
            return stoppedWhilePreparing(say);
        }
        // Only now that the new run is ready to train does the earlier one go.
        if (!options.resume() && options.overwrite()) {
            folder.clearRun();
        }
        say.message("kernels: " + context.kernels().name() + " (" + context.kernels().description() + ")");

        LlamaEngine engine = new LlamaEngine(model, context.kernels(), List.of(tuning),
                techniques.tuner().descriptor().name());
        TrainingContext session = new TrainingContext(spec.seed(), engine, tuning.trainableParameters(),
                path -> frozenModel(path, modelDir), hyper.gradAccumulation(), text);
        Trainer<Object> trainer;
        try {
            trainer = new Trainer<>(engine, tuning.trainableParameters(), objective, session, objectiveConfig, data.train(),
                    hyper);
        } catch (TechniqueException e) {
            throw refused(e);
        }
        Path checkpoint = folder.resolve(OutputFolder.CHECKPOINT);
        Map<String, Object> provenance;
        if (previous != null) {
            trainer.resume(checkpoint);
            say.message("resumed from " + checkpoint + " at step " + trainer.step());
            truncateAfter(folder.resolve(OutputFolder.METRICS), trainer.step());
            truncateAfter(folder.resolve(OutputFolder.EVALS), trainer.step());
            truncateAfter(folder.resolve(OutputFolder.SAMPLES), trainer.step());
            provenance = readProvenance(folder);
        } else {
            provenance = newProvenance(techniques, modelDir, trainFile);
            try {
                trainer.prepare(data.train().pass());
            } catch (TechniqueException e) {
                throw refused(e);
            }
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
        objectiveConfigNow = config;

        listener.started(techniques.descriptors(), trainer.step(), hyper.steps());
        int checkpointEvery = Math.max(1, hyper.steps() / 10);
        // Frozen weights do not change during the job: a device backend may keep them resident.
        List<float[]> frozen = model.parameters().stream().filter(p -> !p.trainable()).map(Parameter::values).toList();
        frozen.forEach(context.kernels()::retain);
        try (Writer metrics = Files.newBufferedWriter(folder.resolve(OutputFolder.METRICS), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                Writer evals = Files.newBufferedWriter(folder.resolve(OutputFolder.EVALS), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                Writer samples = Files.newBufferedWriter(folder.resolve(OutputFolder.SAMPLES), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            engine.setTraining(true);
            while (trainer.step() < hyper.steps()) {
                if (stopRequested || rewireRequested) {
                    trainer.saveCheckpoint(checkpoint);
                    say.message("checkpoint written at step " + trainer.step() + "; stopped");
                    dropSteering(say);
                    return new Outcome(stopRequested ? Ending.STOPPED : Ending.REWIRE, null, false);
                }
                long next = trainer.step() + 1L;
                for (Map<String, Object> changes : scheduled.getOrDefault(next, List.of())) {
                    config = Steering.apply(changes, trainer, config);
                    writeLine(metrics, Map.of("step", next, "steered", changes));
                    say.steered(next, changes);
                }
                for (Map<String, Object> changes; (changes = steeringRequests.poll()) != null; ) {
                    config = Steering.apply(changes, trainer, config);
                    objectiveConfigNow = config;
                    recordSteering(provenance, next, changes);
                    writeProvenance(folder, provenance);
                    writeLine(metrics, Map.of("step", next, "steered", changes));
                    say.steered(next, changes);
                }
                Trainer.StepMetrics m = trainer.trainStep();
                listener.step(m);
                context.events().publish(new JobProgress(Instant.now(), jobId, m.step(), m.totalSteps(), m.loss(),
                        m.learningRate(), m.gradNorm(), m.tokensPerSecond(), m.etaSeconds(), m.metrics()));
                writeLine(metrics, m);
                if (m.step() % checkpointEvery == 0 || m.step() == m.totalSteps()) {
                    trainer.saveCheckpoint(checkpoint);
                    for (Map<String, Object> row : trainer.samples()) {
                        Map<String, Object> line = new LinkedHashMap<>();
                        line.put("step", m.step());
                        line.putAll(row);
                        writeLine(samples, line);
                    }
                    if (!data.heldOut().isEmpty()) {
                        // The objective's held-out metrics, on no-grad passes that leave training's buffers alone.
                        engine.setTraining(false);
                        Map<String, Double> eval = trainer.evaluate(data.heldOut());
                        engine.setTraining(true);
                        Map<String, Object> line = new LinkedHashMap<>();
                        line.put("step", m.step());
                        line.putAll(new TreeMap<>(eval));
                        writeLine(evals, line);
                        context.events().publish(new JobEvaluated(Instant.now(), jobId, m.step(),
                                eval.getOrDefault("loss", Double.NaN), eval));
                        say.message(eval.containsKey("loss")
                                ? String.format("held-out loss %.4f at step %d (%s)", eval.get("loss"), m.step(),
                                        describe(eval))
                                : String.format("held-out at step %d: %s", m.step(), describe(eval)));
                    }
                }
            }
        } finally {
            frozen.forEach(context.kernels()::release);
            engine.setTraining(false);
        }
        Path result = folder.dir().resolve(folder.publish(dir -> {
            if (tuning.save(dir, new SafetensorsFiles(), modelDir.toString())) {
                return OutputFolder.ADAPTER;
            }
            model.save(dir, modelDir);
            return OutputFolder.MODEL;
        }));
        provenance.put("finished", Instant.now().toString());
        writeProvenance(folder, provenance);
        say.message("result in " + result);
        dropSteering(say);
        return new Outcome(Ending.FINISHED, result, false);
    }

    /**
     * The objective refused the job before training began (its settings, its data, a model it names):
     * the job is invalid, not the technique faulty.
     */
    private JobException refused(TechniqueException e) {
        return new JobException(JobException.Reason.INVALID, "objective '" + spec.objective().name() + "': " + e.getMessage(),
                e);
    }

    /** A stop asked for before training began: nothing was trained, nothing of an earlier run was touched. */
    private static Outcome stoppedWhilePreparing(Listener say) {
        say.message("stopped before training began");
        return new Outcome(Ending.STOPPED, null, false);
    }

    /** Says which accepted changes the run ended before applying (the client was told they were taken). */
    private void dropSteering(Listener say) {
        for (Map<String, Object> changes; (changes = steeringRequests.poll()) != null; ) {
            say.message("not applied, the run ended first: " + changes);
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
                for (String section : List.of("model", "adapter", "tuner", "objective", "data", "hyper", "seed")) {
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

    /**
     * Gives the model the output head the objective trains: a causal LM becomes the start of a reward
     * model (a fresh score head, seeded by the job); a sequence classifier cannot train as a language
     * model.
     */
    private void fitHead(LlamaModel model, OutputHead head, Path modelDir, Listener say) {
        if (head == OutputHead.SEQUENCE_SCORE && model.scoreHead().isEmpty()) {
            model.toSequenceClassifier(spec.seed());
            say.message("a new score head on " + modelDir + ": the model becomes a sequence classifier (a reward model)");
        } else if (head == OutputHead.LANGUAGE_MODELLING && model.scoreHead().isPresent()) {
            throw new JobException(JobException.Reason.INVALID, "model folder " + modelDir + " is a "
                    + "LlamaForSequenceClassification (a reward model); objective '" + spec.objective().name()
                    + "' trains a causal language model");
        }
    }

    /**
     * The saved adapter the job starts from, read and checked again (the folder may have changed
     * since the job was submitted), or null for a fresh tuning.
     *
     * @throws JobException INVALID when it disagrees with the job's tuner, or its kind of model with the objective's
     */
    private Adapters.Saved startingAdapter(OutputHead head) throws IOException {
        if (spec.adapter() == null) {
            return null;
        }
        StartingAdapter.resolve(spec, context.catalog());
        Adapters.Saved saved = Adapters.read(Path.of(spec.adapter()));
        if (saved.sequenceClassifier() != (head == OutputHead.SEQUENCE_SCORE)) {
            throw new JobException(JobException.Reason.INVALID, "adapter " + saved.folder() + " is "
                    + (saved.sequenceClassifier() ? "a SEQ_CLS adapter (a reward model)" : "a causal language model's adapter")
                    + "; objective '" + spec.objective().name() + "' trains "
                    + (head == OutputHead.SEQUENCE_SCORE ? "a sequence classifier" : "a causal language model"));
        }
        return saved;
    }

    /** The tuner applied with the saved adapter's weights. */
    private static Tuning loadAdapter(LlamaModel model, Adapters.Saved saved, Tuner<Object> tuner, Object config) {
        try {
            return Adapters.load(model, saved, tuner, config);
        } catch (IOException e) {
            throw new JobException(JobException.Reason.INVALID, "adapter: " + e.getMessage(), e);
        }
    }

    /**
     * Another model an objective names ({@link io.gradus.api.technique.SessionContext#frozenModel}):
     * relative to the job file's folder, loaded with every parameter frozen, run on its own engine.
     * Its token ids are the job's, so its vocabulary must be the job model's ({@link Vocabularies}).
     */
    private io.gradus.api.model.ModelRunner frozenModel(String path, Path modelDir) {
        Path folder = options.baseDir() == null ? Path.of(path) : Path.of(options.baseDir()).resolve(path);
        folder = folder.toAbsolutePath().normalize();
        LlamaModel frozen;
        try {
            frozen = ModelFolders.load(folder, context.catalog());
        } catch (IOException | RuntimeException e) {
            throw new TechniqueException("cannot load the model " + path + " (" + folder + "): " + e.getMessage(), e);
        }
        try {
            Vocabularies.requireSame(ModelFolders.modelFolder(folder), modelDir);
        } catch (IOException e) {
            throw new TechniqueException("the model " + path + " (" + folder + ") " + e.getMessage(), e);
        }
        frozen.parameters().forEach(p -> p.setTrainable(false));
        return new LlamaEngine(frozen, context.kernels());
    }

    /** Metrics other than the loss as "name value, ...", in name order. */
    private static String describe(Map<String, Double> metrics) {
        return new TreeMap<>(metrics).entrySet().stream().filter(e -> !e.getKey().equals("loss"))
                .map(e -> e.getKey() + " " + String.format("%.4f", e.getValue()))
                .collect(Collectors.joining(", "));
    }

    /** The technique's settings of the job bound to its configuration record. */
    static Object bind(Technique<?> technique, TechniqueRef ref, String role) {
        return JobFiles.bind(ref.config(), technique.configType(), role + " '" + ref.name() + "' config");
    }

    static JobException missing(TechniqueCatalog catalog, TechniqueFamily family, TechniqueRef ref) {
        List<TechniqueDescriptor> installed = catalog.techniques().stream().filter(t -> t.family() == family).toList();
        String versions = installed.stream().filter(t -> t.name().equals(ref.name())).map(TechniqueDescriptor::version)
                .collect(Collectors.joining(", "));
        String available = installed.stream().map(t -> t.name() + " " + t.version()).collect(Collectors.joining(", "));
        return new JobException(JobException.Reason.INVALID, "no " + family.label() + " '" + ref.name() + "'"
                + (ref.version() == null ? "" : " in version range " + ref.version()) + " is installed; "
                + (versions.isEmpty() ? "" : "installed versions of " + ref.name() + ": " + versions + "; ")
                + "installed " + family.label() + "s: " + (available.isEmpty() ? "none" : available));
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
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                continue; // torn by a kill mid-write: the step it recorded runs again
            }
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
        if (spec.adapter() != null) {
            Adapters.Saved saved = Adapters.read(Path.of(spec.adapter()));
            p.put("adapter", saved.folder().toString());
            p.put("adapter_sha256", sha256(saved.weights()));
        }
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
        public void resolved(List<TechniqueDescriptor> techniques) {
            delegate.resolved(techniques);
        }

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
