package io.gradus.core.train;

import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.Model;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.WeightsSnapshot;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.TechniqueException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * What a job offers its objective's session (see {@link SessionContext}), and what the session
 * registered with it: parameters the objective trains beside the model's, and snapshots of the
 * model's trainable weights. The {@link Trainer} optimizes the former and checkpoints both.
 */
public final class TrainingContext implements SessionContext {

    private final long seed;
    private final ModelRunner runner;
    private final List<Parameter> modelTrainable;
    private final Function<String, ModelRunner> frozenModels;
    private final int gradAccumulation;
    private final TextTokenizer tokenizer;
    private final List<Parameter> registered = new ArrayList<>();
    private final List<WeightsSnapshot> snapshots = new ArrayList<>();

    /**
     * @param runner runs the model the job trains
     * @param modelTrainable the model's trainable parameters (the tuning's): what a snapshot copies
     * @param frozenModels loads another model by the path an objective names, or null where there is
     *     no job to resolve paths against (a benchmark)
     */
    public TrainingContext(long seed, ModelRunner runner, List<Parameter> modelTrainable,
            Function<String, ModelRunner> frozenModels) {
        this(seed, runner, modelTrainable, frozenModels, 1, null);
    }

    /**
     * @param gradAccumulation micro-batches per optimizer step, as the trainer will take them
     * @param tokenizer the model's tokenizer, or null where the run has none (a benchmark)
     */
    public TrainingContext(long seed, ModelRunner runner, List<Parameter> modelTrainable,
            Function<String, ModelRunner> frozenModels, int gradAccumulation, TextTokenizer tokenizer) {
        if (gradAccumulation < 1) {
            throw new IllegalArgumentException("gradAccumulation must be at least 1, was " + gradAccumulation);
        }
        this.seed = seed;
        this.runner = runner;
        this.modelTrainable = List.copyOf(modelTrainable);
        this.frozenModels = frozenModels;
        this.gradAccumulation = gradAccumulation;
        this.tokenizer = tokenizer;
    }

    @Override
    public long seed() {
        return seed;
    }

    @Override
    public Model model() {
        return runner.model();
    }

    @Override
    public void train(Parameter parameter) {
        Set<String> names = new HashSet<>();
        modelTrainable.forEach(p -> names.add(p.name()));
        registered.forEach(p -> names.add(p.name()));
        if (names.contains(parameter.name())) {
            throw new IllegalArgumentException("a parameter named " + parameter.name() + " already trains");
        }
        parameter.setTrainable(true);
        registered.add(parameter);
    }

    @Override
    public WeightsSnapshot snapshot(String name) {
        if (snapshots.stream().anyMatch(s -> s.name().equals(name))) {
            throw new IllegalArgumentException("a snapshot named " + name + " exists already");
        }
        WeightsSnapshot snapshot = new WeightsSnapshot(name, modelTrainable);
        snapshots.add(snapshot);
        return snapshot;
    }

    @Override
    public ModelRunner frozenModel(String path) {
        if (frozenModels == null) {
            throw new TechniqueException("no other model can be loaded here (" + path + "): this run is not a job");
        }
        return frozenModels.apply(path);
    }

    @Override
    public int gradAccumulation() {
        return gradAccumulation;
    }

    @Override
    public TextTokenizer tokenizer() {
        if (tokenizer == null) {
            throw new TechniqueException("this run has no tokenizer");
        }
        return tokenizer;
    }

    /** The parameters the objective registered, in order. */
    public List<Parameter> registered() {
        return List.copyOf(registered);
    }

    /** The snapshots taken, in order. */
    public List<WeightsSnapshot> snapshots() {
        return List.copyOf(snapshots);
    }
}
