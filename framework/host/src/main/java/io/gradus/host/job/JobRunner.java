package io.gradus.host.job;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.data.Example;
import io.gradus.api.event.EventHub;
import io.gradus.api.event.JobProgress;
import io.gradus.api.event.JobStateChanged;
import io.gradus.api.job.JobSpec;
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
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.core.train.BatchSource;
import io.gradus.core.train.PackedTokens;
import io.gradus.core.train.PaddedExamples;
import io.gradus.core.train.Trainer;
import io.gradus.host.SafetensorsFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Runs one training job: resolves the tuner and objective by name and version in the service
 * registry, binds their configuration, loads the base model and its tokenizer, encodes the JSONL
 * data through the objective, trains, and writes the output folder:
 * <pre>
 *   OUTPUT/model/            the trained model in the Hugging Face layout (full fine-tuning), or
 *   OUTPUT/adapter/          what the tuner saves of its own (LoRA: PEFT's adapter layout)
 *   OUTPUT/checkpoint/       the latest checkpoint; --resume continues from it
 *   OUTPUT/metrics.jsonl     one JSON line per optimizer step
 *   OUTPUT/eval.jsonl        held-out loss at every checkpoint, when the job names data.eval
 *   OUTPUT/job.json          the job as run (defaults filled in)
 *   OUTPUT/provenance.json   technique bundles and versions, base-model and data hashes, seed, backend
 * </pre>
 * Progress goes to the terminal and, as {@link JobProgress} events, to the console.
 */
public final class JobRunner {

    /** Windows of seqLen tokens the held-out loss is measured on (the same ones every time). */
    private static final int EVAL_WINDOWS = 32;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final TechniqueCatalog catalog;
    private final EventHub events;
    private final KernelBackend kernels;
    private final PrintStream terminal;
    private final Path defaultModel;

    /**
     * @param defaultModel the model folder of jobs that name none (the built-in model)
     */
    public JobRunner(TechniqueCatalog catalog, EventHub events, KernelBackend kernels, PrintStream terminal,
            Path defaultModel) {
        this.catalog = catalog;
        this.events = events;
        this.kernels = kernels;
        this.terminal = terminal;
        this.defaultModel = defaultModel;
    }

    /** What a finished job reports. */
    public record Outcome(Path output, Path result, int steps, double firstLoss, double lastLoss) {}

    /**
     * Runs {@code job}, resolving relative paths against {@code baseDir} (the job file's folder).
     *
     * @param resume continue from {@code OUTPUT/checkpoint} instead of starting over
     */
    @SuppressWarnings("unchecked")
    public Outcome run(JobSpec job, Path baseDir, boolean resume) throws IOException {
        String jobId = job.name() + "-" + Instant.now().toEpochMilli();
        Path output = baseDir.resolve(require(job.output(), "output")).normalize();
        TechniqueCatalog.Found<Tuner<?>> tunerFound = catalog.tuner(job.tuner().name(), job.tuner().version())
                .orElseThrow(() -> missing(TechniqueFamily.TUNER, job.tuner()));
        TechniqueCatalog.Found<Objective<?>> objectiveFound = catalog.objective(job.objective().name(), job.objective().version())
                .orElseThrow(() -> missing(TechniqueFamily.OBJECTIVE, job.objective()));
        Tuner<Object> tuner = (Tuner<Object>) tunerFound.technique();
        Objective<Object> objective = (Objective<Object>) objectiveFound.technique();
        Object tunerConfig = bind(tuner, job.tuner(), "tuner");
        Object objectiveConfig = bind(objective, job.objective(), "objective");

        Path modelDir = job.model() != null ? baseDir.resolve(job.model()).normalize() : defaultModel;
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new IOException(job.model() != null ? "model folder " + modelDir + " has no config.json"
                    : "the job names no model and the built-in one does not exist yet (" + modelDir
                            + "); create it with: ./gradus pretrain");
        }
        // The tuner's load transform (QLoRA: quantize) acts per module as it is read: peak memory
        // never holds the whole float model.
        LlamaModel model = LlamaModel.load(modelDir, tuner.loadTransform(tunerConfig));
        Tuning tuning = tuner.apply(model, tunerConfig);
        terminal.printf("model %s: %,d parameters, %,d trainable (%.2f%%) with %s %s%n", modelDir, model.parameterCount(),
                tuning.trainableCount(), 100.0 * tuning.trainableCount() / model.parameterCount(),
                tunerFound.descriptor().name(), tunerFound.descriptor().version());

        Path trainFile = baseDir.resolve(job.data().train()).normalize();
        Path evalFile = job.data().eval() == null ? null : baseDir.resolve(job.data().eval()).normalize();
        List<Example> examples;
        List<Example> evalExamples = List.of();
        try (HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            TokenizerAdapter text = TokenizerAdapter.of(tokenizer, model.config(), modelDir);
            examples = encode(trainFile, objective, objectiveConfig, text);
            if (evalFile != null) {
                evalExamples = encode(evalFile, objective, objectiveConfig, text);
            }
        }
        var hyper = job.hyper();
        BatchSource data = hyper.packing()
                ? PackedTokens.of(examples, hyper.batchSize(), hyper.seqLen())
                : new PaddedExamples(examples, hyper.batchSize(), hyper.seqLen(), Math.max(0, model.config().eosTokenId()));
        terminal.printf("data %s: %,d examples, %,d tokens (%s); %d steps of %d x %d tokens (x%d accumulation)%n",
                trainFile, examples.size(), examples.stream().mapToLong(e -> e.ids().length).sum(),
                hyper.packing() ? "packed" : "one per row", hyper.steps(), hyper.batchSize(), hyper.seqLen(),
                hyper.gradAccumulation());

        LlamaEngine engine = new LlamaEngine(model, kernels);
        Trainer<Object> trainer = new Trainer<>(engine, tuning.trainableParameters(), objective, objectiveConfig, data, hyper);
        Files.createDirectories(output);
        Path checkpoint = output.resolve("checkpoint");
        if (resume) {
            if (!Files.isDirectory(checkpoint)) {
                throw new IOException("--resume: there is no checkpoint in " + output);
            }
            trainer.resume(checkpoint);
            terminal.printf("resumed from %s at step %d%n", checkpoint, trainer.step());
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(output.resolve("job.json").toFile(), job);
        writeProvenance(output, job, tunerFound.descriptor(), objectiveFound.descriptor(), modelDir, trainFile);

        events.publish(new JobStateChanged(Instant.now(), jobId, "RUNNING", "training " + job.name()));
        List<Double> losses = new ArrayList<>();
        int checkpointEvery = Math.max(1, hyper.steps() / 10);
        ProgressLine progress = new ProgressLine(terminal);
        // Held-out loss at every checkpoint, on its own engine so the training activations stay put.
        LlamaEngine evalEngine = new LlamaEngine(model, kernels);
        List<Example> heldOut = evalExamples;
        StandardOpenOption mode = resume ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING;
        // Frozen weights do not change during the job: a device backend may keep them resident.
        List<float[]> frozen = model.parameters().stream().filter(p -> !p.trainable()).map(Parameter::values).toList();
        frozen.forEach(kernels::retain);
        try (Writer metrics = Files.newBufferedWriter(output.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, mode);
                Writer evals = Files.newBufferedWriter(output.resolve("eval.jsonl"), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, mode)) {
            tuning.setTraining(true);
            trainer.run(hyper.steps(), m -> {
                losses.add(m.loss());
                progress.onStep(m);
                events.publish(new JobProgress(Instant.now(), jobId, m.step(), m.totalSteps(), m.loss(), m.learningRate(),
                        m.gradNorm(), m.tokensPerSecond(), m.etaSeconds()));
                try {
                    metrics.write(JSON.writeValueAsString(m) + "\n");
                    metrics.flush();
                    if (m.step() % checkpointEvery == 0 || m.step() == m.totalSteps()) {
                        trainer.saveCheckpoint(checkpoint);
                        if (!heldOut.isEmpty()) {
                            tuning.setTraining(false);
                            var eval = Evaluation.loss(evalEngine, kernels, heldOut, hyper.seqLen(), EVAL_WINDOWS);
                            tuning.setTraining(true);
                            evals.write(JSON.writeValueAsString(Map.of("step", m.step(), "loss", eval.loss(),
                                    "targets", eval.targets())) + "\n");
                            evals.flush();
                            terminal.printf("%nheld-out loss %.4f at step %d%n", eval.loss(), m.step());
                        }
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException("cannot write to " + output, e);
                }
            });
        } catch (RuntimeException e) {
            events.publish(new JobStateChanged(Instant.now(), jobId, "FAILED", String.valueOf(e.getMessage())));
            throw e;
        } finally {
            frozen.forEach(kernels::release);
        }
        tuning.setTraining(false);
        Path result = output.resolve("adapter");
        if (!tuning.save(result, new SafetensorsFiles(), modelDir.toString())) {
            result = output.resolve("model");
            saveModel(model, modelDir, result);
        }
        events.publish(new JobStateChanged(Instant.now(), jobId, "SUCCEEDED", "result in " + result));
        double first = losses.isEmpty() ? Double.NaN : losses.getFirst();
        double last = losses.isEmpty() ? Double.NaN : losses.getLast();
        return new Outcome(output, result, trainer.step(), first, last);
    }

    /** Reads the JSONL file through the objective; a bad line is an error naming file and line. */
    private static List<Example> encode(Path file, Objective<Object> objective, Object config,
            TokenizerAdapter tokenizer) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("data file " + file + " does not exist");
        }
        List<Example> examples = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNumber = 0;
            for (String line; (line = reader.readLine()) != null; ) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    Map<String, Object> record = JSON.readValue(line, new TypeReference<Map<String, Object>>() {});
                    examples.add(objective.encode(config, record, tokenizer));
                } catch (IOException | IllegalArgumentException e) {
                    throw new IOException(file + ":" + lineNumber + ": " + e.getMessage(), e);
                }
            }
        }
        if (examples.isEmpty()) {
            throw new IOException("data file " + file + " has no records");
        }
        return examples;
    }

    private static Object bind(Technique<?> technique, TechniqueRef ref, String role) throws IOException {
        try {
            return JSON.convertValue(ref.config(), technique.configType());
        } catch (IllegalArgumentException e) {
            throw new IOException(role + " '" + ref.name() + "' config: " + e.getMessage(), e);
        }
    }

    private IllegalArgumentException missing(TechniqueFamily family, TechniqueRef ref) {
        String available = catalog.techniques().stream()
                .filter(t -> t.family() == family)
                .map(t -> t.name() + " " + t.version())
                .collect(Collectors.joining(", "));
        return new IllegalArgumentException("no " + family.label() + " '" + ref.name() + "'"
                + (ref.version() == null ? "" : " in version range " + ref.version()) + " is installed; installed "
                + family.label() + "s: " + (available.isEmpty() ? "none" : available));
    }

    private static String require(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("the job file needs \"" + field + "\"");
        }
        return value;
    }

    private static void saveModel(LlamaModel model, Path baseDir, Path target) throws IOException {
        model.save(target);
        for (String file : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")) {
            if (Files.isRegularFile(baseDir.resolve(file))) {
                Files.copy(baseDir.resolve(file), target.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private void writeProvenance(Path output, JobSpec job, TechniqueDescriptor tuner, TechniqueDescriptor objective,
            Path modelDir, Path trainFile) throws IOException {
        ObjectNode p = JSON.createObjectNode();
        p.set("tuner", JSON.valueToTree(tuner));
        p.set("objective", JSON.valueToTree(objective));
        p.put("base_model", modelDir.toString());
        Optional<Path> weights = Files.isRegularFile(modelDir.resolve("model.safetensors"))
                ? Optional.of(modelDir.resolve("model.safetensors")) : Optional.empty();
        p.put("base_model_sha256", weights.isPresent() ? sha256(weights.get()) : "sharded");
        p.put("data", trainFile.toString());
        p.put("data_sha256", sha256(trainFile));
        p.put("seed", job.seed());
        p.put("backend", kernels.name() + ": " + kernels.description());
        p.put("started", Instant.now().toString());
        JSON.writerWithDefaultPrettyPrinter().writeValue(output.resolve("provenance.json").toFile(), p);
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
}
