package io.gradus.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.StepResult;
import io.gradus.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The training loop. One optimizer step:
 * <ol>
 *   <li>for an objective with a rollout phase (PPO) whose collected data is used up: let it collect
 *       (generate, score) from the job's prompts, under no-grad;</li>
 *   <li>zero the gradients of the trainable parameters;</li>
 *   <li>for each of {@code gradAccumulation} micro-batches (from the data, or from what was
 *       collected), let the objective run forward, loss and backward, with its loss gradient scaled
 *       by 1/accumulation (so the sum is the mean);</li>
 *   <li>clip the global gradient norm to {@code maxGradNorm};</li>
 *   <li>update with AdamW at the scheduled learning rate;</li>
 *   <li>report the step's metrics.</li>
 * </ol>
 * Everything that determines the next steps (trainable weights, AdamW moments, step count, data
 * position, the objective's state and snapshots, the collected steps left) is in a checkpoint, so a
 * resumed run computes exactly what the uninterrupted one would.
 *
 * @param <C> the objective's configuration
 */
public final class Trainer<C> {

    /**
     * What one optimizer step reports.
     *
     * @param step optimizer steps done, including this one
     * @param loss mean loss over the step's micro-batches
     * @param gradNorm global gradient L2 norm before clipping
     * @param tokens tokens that took a loss in this step
     * @param tokensPerSecond input tokens through the model per second of this step
     * @param etaSeconds estimated time to the last step, from the mean step time so far
     * @param metrics the objective's own figures (mean over micro-batches)
     */
    public record StepMetrics(
            int step,
            int totalSteps,
            double loss,
            double learningRate,
            double gradNorm,
            long tokens,
            double tokensPerSecond,
            double etaSeconds,
            Map<String, Double> metrics) {}

    /** Receives the metrics of every step. */
    @FunctionalInterface
    public interface Listener {
        void onStep(StepMetrics metrics);
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STATE_FILE = "trainer_state.json";

    /** The state's data position: windows or rows taken since the first epoch began ({@link BatchSource#position()}). */
    private static final String DATA_TAKEN = "data_taken";
    private static final String WEIGHTS_FILE = "trainable.safetensors";
    private static final String OPTIMIZER_FILE = "optimizer.safetensors";
    private static final String OBJECTIVE_STATE_FILE = "objective_state.json";
    private static final String SNAPSHOTS_FILE = "snapshots.safetensors";

    private final ModelRunner runner;
    private final List<Parameter> trainable;
    private final ObjectiveSession<C> session;
    private final List<WeightsSnapshot> snapshots;
    private C config;
    private final BatchSource data;
    private final Hyperparameters hyper;
    private final KernelBackend kernels;
    private final AdamW optimizer;
    private int step;
    private double secondsSpent;
    /** The schedule's peak rate and a factor on the scheduled rate, both changed by steering. */
    private double peakLearningRate;
    private double learningRateScale = 1;
    /** Optimizer steps left that train on what the objective collected last (0: collect before the next step). */
    private int collectedStepsLeft;

    /** A trainer for a stateless objective, outside a job (its session gets a context without other models). */
    public Trainer(ModelRunner runner, List<Parameter> trainable, Objective<C> objective, C config, BatchSource data,
            Hyperparameters hyper) {
        this(runner, trainable, objective, new TrainingContext(0, runner, trainable, null, hyper.gradAccumulation(), null),
                config, data, hyper);
    }

    /** A trainer of {@code objective}'s session for this job, started with {@code context}. */
    public Trainer(ModelRunner runner, List<Parameter> trainable, Objective<C> objective, TrainingContext context, C config,
            BatchSource data, Hyperparameters hyper) {
        this(runner, trainable, objective.session(config, context), context, config, data, hyper);
    }

    /**
     * @param trainable the model's trainable parameters; those the session registered with
     *     {@code context} train too
     */
    public Trainer(ModelRunner runner, List<Parameter> trainable, ObjectiveSession<C> session, TrainingContext context,
            C config, BatchSource data, Hyperparameters hyper) {
        if (context.gradAccumulation() != hyper.gradAccumulation()) {
            throw new IllegalArgumentException("the session was started for " + context.gradAccumulation()
                    + " micro-batches per step, the trainer takes " + hyper.gradAccumulation());
        }
        List<Parameter> all = new java.util.ArrayList<>(trainable);
        all.addAll(context.registered());
        if (all.isEmpty()) {
            throw new IllegalArgumentException("nothing to train: the tuner left no trainable parameter");
        }
        this.runner = runner;
        this.trainable = List.copyOf(all);
        this.session = session;
        this.snapshots = context.snapshots();
        this.config = config;
        this.data = data;
        this.hyper = hyper;
        this.kernels = runner.kernels();
        this.optimizer = new AdamW(kernels, hyper.beta1(), hyper.beta2(), hyper.epsilon(), hyper.weightDecay());
        this.peakLearningRate = hyper.learningRate();
    }

    /** From the next step on, the schedule peaks at {@code learningRate} instead. */
    public void setPeakLearningRate(double learningRate) {
        this.peakLearningRate = learningRate;
    }

    /** From the next step on, every scheduled rate is multiplied by {@code scale}. */
    public void setLearningRateScale(double scale) {
        this.learningRateScale = scale;
    }

    /** From the next step on, the objective runs with {@code config}. */
    public void setObjectiveConfig(C config) {
        this.config = config;
    }

    /** Optimizer steps done. */
    public int step() {
        return step;
    }

    /** Runs optimizer steps until {@code untilStep} (at most the job's {@code steps}). */
    public void run(int untilStep, Listener listener) {
        int last = Math.min(untilStep, hyper.steps());
        while (step < last) {
            listener.onStep(trainStep());
        }
    }

    /**
     * Once before step 1 of a fresh run: the session's preparation over one pass of the training
     * data (DPO's reference log-probabilities).
     */
    public void prepare(Iterable<TokenBatch> trainingData) {
        session.prepare(config, trainingData, runner);
    }

    /** The session's rows for people (see {@link ObjectiveSession#samples}). */
    public List<Map<String, Object>> samples() {
        return session.samples();
    }

    /** The session's held-out metrics (see {@link ObjectiveSession#evaluate}). */
    public Map<String, Double> evaluate(List<TokenBatch> heldOut) {
        return session.evaluate(config, heldOut, runner);
    }

    /** Runs one optimizer step and reports it. */
    public StepMetrics trainStep() {
        long started = System.nanoTime();
        Map<String, Double> metrics = new HashMap<>();
        boolean collecting = session.collects(config);
        if (collecting && collectedStepsLeft == 0) {
            // Rollout phase: the objective collects (generates, scores) from the job's prompts under
            // no-grad; the next optimizer steps train on what it collected.
            ObjectiveSession.Collected collected = session.collect(config, data::next, runner);
            collectedStepsLeft = collected.optimizerSteps();
            metrics.putAll(collected.metrics());
        }
        for (Parameter p : trainable) {
            Arrays.fill(p.gradient(), 0f);
        }
        int accumulation = hyper.gradAccumulation();
        double loss = 0;
        long tokens = 0;
        long inputTokens = 0;
        for (int micro = 0; micro < accumulation; micro++) {
            TokenBatch batch = collecting ? session.nextCollected(config) : data.next();
            StepResult result = session.step(config, batch, runner, 1f / accumulation);
            loss += result.loss() / accumulation;
            tokens += result.tokens();
            inputTokens += (long) batch.batchSize() * batch.seqLen();
            result.metrics().forEach((k, v) -> metrics.merge(k, v / accumulation, Double::sum));
        }
        double gradNorm = clipGradients();
        double lr = LearningRateSchedule.at(hyper, step, peakLearningRate) * learningRateScale;
        optimizer.step(trainable, lr);
        step++;
        if (collecting) {
            collectedStepsLeft--;
        }

        double seconds = (System.nanoTime() - started) / 1e9;
        secondsSpent += seconds;
        double eta = secondsSpent / step * (hyper.steps() - step);
        return new StepMetrics(step, hyper.steps(), loss, lr, gradNorm, tokens, inputTokens / seconds, eta, metrics);
    }

    /** Scales the gradients so their global L2 norm is at most maxGradNorm; returns the norm before. */
    private double clipGradients() {
        double sumSquares = 0;
        for (Parameter p : trainable) {
            sumSquares += kernels.sumOfSquares(p.gradient(), p.size());
        }
        double norm = Math.sqrt(sumSquares);
        double max = hyper.maxGradNorm();
        if (max > 0 && norm > max) {
            // As torch.nn.utils.clip_grad_norm_: the small epsilon guards against a zero norm.
            float factor = (float) (max / (norm + 1e-6));
            for (Parameter p : trainable) {
                kernels.scale(p.gradient(), factor, p.size());
            }
        }
        return norm;
    }

    /**
     * Writes a checkpoint folder: trainable weights, AdamW moments and the loop state. Written
     * aside and renamed into place, so an interruption never leaves a half checkpoint.
     */
    public void saveCheckpoint(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path partial = Files.createTempDirectory(parent, dir.getFileName() + ".partial-");
        var weights = new LinkedHashMap<String, SafeTensors.Tensor>();
        var moments = new LinkedHashMap<String, SafeTensors.Tensor>();
        for (Parameter p : trainable) {
            weights.put(p.name(), new SafeTensors.Tensor(p.shape(), p.values()));
            AdamW.Moments m = optimizer.moments().get(p.name());
            if (m != null) {
                moments.put(p.name() + ".exp_avg", new SafeTensors.Tensor(p.shape(), m.first()));
                moments.put(p.name() + ".exp_avg_sq", new SafeTensors.Tensor(p.shape(), m.second()));
            }
        }
        SafeTensors.write(partial.resolve(WEIGHTS_FILE), weights, Map.of("format", "pt"));
        SafeTensors.write(partial.resolve(OPTIMIZER_FILE), moments, Map.of());
        if (!snapshots.isEmpty()) {
            var frozen = new LinkedHashMap<String, SafeTensors.Tensor>();
            for (WeightsSnapshot snapshot : snapshots) {
                for (int i = 0; i < snapshot.parameters().size(); i++) {
                    Parameter p = snapshot.parameters().get(i);
                    frozen.put(snapshot.name() + "/" + p.name(), new SafeTensors.Tensor(p.shape(), snapshot.values(i)));
                }
            }
            SafeTensors.write(partial.resolve(SNAPSHOTS_FILE), frozen, Map.of());
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(partial.resolve(OBJECTIVE_STATE_FILE).toFile(), session.state());
        ObjectNode state = JSON.createObjectNode();
        state.put("step", step);
        state.put("optimizer_steps", optimizer.steps());
        state.put(DATA_TAKEN, data.position());
        state.put("collected_steps_left", collectedStepsLeft);
        state.put("seconds_spent", secondsSpent);
        state.set("hyperparameters", JSON.valueToTree(hyper));
        JSON.writerWithDefaultPrettyPrinter().writeValue(partial.resolve(STATE_FILE).toFile(), state);

        Path old = parent.resolve(dir.getFileName() + ".old");
        deleteRecursively(old);
        if (Files.exists(dir)) {
            Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
        deleteRecursively(old);
    }

    /**
     * Restores a checkpoint written by {@link #saveCheckpoint}: weights, moments, step and data
     * position. The trainable parameters must be the same (names and shapes).
     */
    public void resume(Path dir) throws IOException {
        JsonNode state = JSON.readTree(dir.resolve(STATE_FILE).toFile());
        loadWeights(dir, trainable);
        try (SafeTensors moments = SafeTensors.open(dir.resolve(OPTIMIZER_FILE))) {
            Map<String, AdamW.Moments> restored = new LinkedHashMap<>();
            for (Parameter p : trainable) {
                if (moments.tensors().containsKey(p.name() + ".exp_avg")) {
                    restored.put(p.name(), new AdamW.Moments(
                            moments.read(p.name() + ".exp_avg"), moments.read(p.name() + ".exp_avg_sq")));
                }
            }
            optimizer.restore(state.path("optimizer_steps").asInt(), restored);
        }
        restoreSnapshots(dir);
        Path objectiveState = dir.resolve(OBJECTIVE_STATE_FILE);
        if (Files.isRegularFile(objectiveState)) {
            session.restore(JSON.readValue(objectiveState.toFile(),
                    new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Object>>() {}));
        }
        step = state.path("step").asInt();
        collectedStepsLeft = state.path("collected_steps_left").asInt();
        secondsSpent = state.path("seconds_spent").asDouble();
        if (!state.has(DATA_TAKEN)) {
            // Gradus 0.1 recorded "data_position": a token offset or example index in file order. Its
            // data were never shuffled, so no place in today's epoch orders continues that run.
            throw new IOException(dir.resolve(STATE_FILE) + " was written by Gradus 0.1, which took the data in"
                    + " file order; this version takes them in a new order each epoch and cannot continue that"
                    + " run exactly: start it over (--overwrite)");
        }
        data.seek(state.path(DATA_TAKEN).asLong());
    }

    /** The optimizer steps done when the checkpoint in {@code dir} was written. */
    public static int checkpointStep(Path dir) throws IOException {
        try (var in = Files.newInputStream(dir.resolve(STATE_FILE))) {
            return JSON.readTree(in).path("step").asInt();
        }
    }

    /**
     * Copies the trained weights of a checkpoint written by {@link #saveCheckpoint} into
     * {@code trainable}, by name: how a run resumes, and how a model is rebuilt from a job's latest
     * checkpoint (the same tuner applied to the same base gives the same parameters).
     *
     * @throws IOException naming the checkpoint when its tensors are not exactly these parameters
     */
    public static void loadWeights(Path dir, List<Parameter> trainable) throws IOException {
        try (SafeTensors weights = SafeTensors.open(dir.resolve(WEIGHTS_FILE))) {
            if (!weights.tensors().keySet().equals(trainable.stream().map(Parameter::name).collect(
                    java.util.stream.Collectors.toCollection(java.util.LinkedHashSet::new)))) {
                throw new IOException(dir + ": the checkpoint trains " + weights.tensors().keySet()
                        + " but this job trains " + trainable.stream().map(Parameter::name).toList());
            }
            for (Parameter p : trainable) {
                if (!Arrays.equals(weights.tensors().get(p.name()).shape(), p.shape())) {
                    throw new IOException(dir + ": tensor " + p.name() + " has shape "
                            + Arrays.toString(weights.tensors().get(p.name()).shape()) + ", the model has "
                            + Arrays.toString(p.shape()));
                }
                float[] values = weights.read(p.name());
                System.arraycopy(values, 0, p.values(), 0, values.length);
            }
        }
    }

    private void restoreSnapshots(Path dir) throws IOException {
        if (snapshots.isEmpty()) {
            return;
        }
        try (SafeTensors frozen = SafeTensors.open(dir.resolve(SNAPSHOTS_FILE))) {
            for (WeightsSnapshot snapshot : snapshots) {
                for (int i = 0; i < snapshot.parameters().size(); i++) {
                    String name = snapshot.name() + "/" + snapshot.parameters().get(i).name();
                    if (!frozen.tensors().containsKey(name)) {
                        throw new IOException(dir.resolve(SNAPSHOTS_FILE) + ": the checkpoint has no snapshot tensor " + name);
                    }
                    float[] values = frozen.read(name);
                    System.arraycopy(values, 0, snapshot.values(i), 0, values.length);
                }
            }
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
