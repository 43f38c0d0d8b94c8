package io.gradus.api.technique;

import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.Model;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.WeightsSnapshot;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What a job offers the objective session it starts. Provided by the trainer's host.
 */
@ProviderType
public interface SessionContext {

    /** The job's seed: derive every random choice from it (sampling seeds per iteration and prompt). */
    long seed();

    /** The model the job trains, with its tuner applied: its parameters, hidden size and score head. */
    Model model();

    /**
     * Registers a parameter the objective owns and trains beside the model's (PPO's value head): the
     * optimizer updates it and checkpoints keep it; it is not part of the saved model. Call it while
     * the session starts. Its name must not clash with a model parameter's.
     */
    void train(Parameter parameter);

    /**
     * A frozen copy of the model's trainable weights as they are when the job starts, kept in every
     * checkpoint so that a resumed job has the same one (a reference model: DPO's and PPO's initial
     * policy). Under LoRA it costs an adapter's size, under full fine-tuning a copy of the model.
     */
    WeightsSnapshot snapshot(String name);

    /**
     * Loads another model the objective names in its settings (a reward model for PPO, a reference
     * folder for DPO), frozen: it runs only no-grad passes ({@link ModelRunner#infer}) and generation.
     *
     * @param path a model folder (a causal LM or a {@code LlamaForSequenceClassification}), or an
     *     adapter folder whose base is read from its {@code base_model_name_or_path}; relative to the
     *     job file's folder
     * @throws TechniqueException naming the path and what is wrong with it
     */
    ModelRunner frozenModel(String path);

    /**
     * Micro-batches the trainer takes for each optimizer step ({@code hyper.gradAccumulation}): a
     * session that {@link ObjectiveSession#collects collects} hands out that many per step from
     * {@link ObjectiveSession#nextCollected}, so it sizes what it collects by it. 1 by default.
     */
    default int gradAccumulation() {
        return 1;
    }

    /**
     * The model's tokenizer, for what a session shows people (PPO decodes its rollouts' prompts and
     * responses for {@code samples.jsonl}). A model folder without {@code tokenizer.json} gives one
     * whose {@code encode} and {@code decode} refuse, in words.
     *
     * @throws TechniqueException when the run has no tokenizer at all (a benchmark)
     */
    default TextTokenizer tokenizer() {
        throw new TechniqueException("this run has no tokenizer");
    }
}
