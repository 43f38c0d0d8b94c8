package io.gradus.api.job;

import java.util.Objects;

/**
 * One training job: base model + tuner + objective + data + hyper-parameters.
 *
 * @param name a name for people and for the output folder (default {@code job})
 * @param model folder of a Hugging Face model ({@code config.json}, {@code model.safetensors},
 *     {@code tokenizer.json}); {@code null} means the built-in default model
 * @param tuner how parameters change, e.g. {@code {"name": "lora", "config": {"r": 8}}}; may be left out when
 *     {@code adapter} names a saved adapter (its tuner and settings are then the adapter's; a tuner given
 *     with one must agree with it)
 * @param objective what the loss is, e.g. {@code {"name": "sft"}}
 * @param data training and evaluation data
 * @param hyper optimisation settings; {@code null} means all defaults
 * @param output folder the results are written to
 * @param seed seed of every random choice in the job (default 42)
 * @param onUpdate what the job does when a technique bundle it uses is updated while it runs:
 *     {@code keep} (default) keeps the revision it started with until it ends, and the update waits;
 *     {@code rewire} checkpoints, lets the update happen, and resumes on the new revision
 * @param adapter a saved adapter folder (PEFT's or the adapters library's layout) the job starts from
 *     and trains further, as SFT's adapter is trained on with DPO; {@code null} starts a fresh tuning
 *     (since 1.2)
 */
public record JobSpec(
        String name,
        String model,
        TechniqueRef tuner,
        TechniqueRef objective,
        DataSpec data,
        Hyperparameters hyper,
        String output,
        Long seed,
        String onUpdate,
        String adapter) {

    /** What a job does when a technique bundle it uses is updated: see {@link #onUpdate()}. */
    public static final String KEEP = "keep";
    /** See {@link #onUpdate()}. */
    public static final String REWIRE = "rewire";

    public JobSpec {
        name = name == null ? "job" : name;
        if (tuner == null && adapter == null) {
            throw new NullPointerException("tuner is required (e.g. {\"name\": \"full\"}), unless the job starts from an adapter");
        }
        Objects.requireNonNull(objective, "objective is required (e.g. {\"name\": \"pretrain\"})");
        Objects.requireNonNull(data, "data is required (e.g. {\"train\": \"train.jsonl\"})");
        hyper = hyper == null ? Hyperparameters.defaults() : hyper;
        seed = seed == null ? 42L : seed;
        onUpdate = onUpdate == null ? KEEP : onUpdate;
        if (!onUpdate.equals(KEEP) && !onUpdate.equals(REWIRE)) {
            throw new IllegalArgumentException("onUpdate must be keep or rewire, was '" + onUpdate + "'");
        }
    }

    /** A job with a fresh tuning (the 1.1 form of this record). */
    public JobSpec(String name, String model, TechniqueRef tuner, TechniqueRef objective, DataSpec data,
            Hyperparameters hyper, String output, Long seed, String onUpdate) {
        this(name, model, tuner, objective, data, hyper, output, seed, onUpdate, null);
    }

    /** A job that keeps its technique revisions while it runs (the 1.0 form of this record). */
    public JobSpec(String name, String model, TechniqueRef tuner, TechniqueRef objective, DataSpec data,
            Hyperparameters hyper, String output, Long seed) {
        this(name, model, tuner, objective, data, hyper, output, seed, null, null);
    }

    /** This spec with another output folder and model (paths made absolute by the job service). */
    public JobSpec withPaths(String model, DataSpec data, String output) {
        return new JobSpec(name, model, tuner, objective, data, hyper, output, seed, onUpdate, adapter);
    }

    /** This spec with another model, adapter, data and output (paths made absolute by the job service). */
    public JobSpec withPaths(String model, String adapter, DataSpec data, String output) {
        return new JobSpec(name, model, tuner, objective, data, hyper, output, seed, onUpdate, adapter);
    }

    /** This spec with another tuner (the one a saved adapter implies). */
    public JobSpec withTuner(TechniqueRef tuner) {
        return new JobSpec(name, model, tuner, objective, data, hyper, output, seed, onUpdate, adapter);
    }

    /**
     * Where the data of a job comes from.
     *
     * @param train JSONL file of training examples
     * @param eval JSONL file of held-out examples, or {@code null} for none
     */
    public record DataSpec(String train, String eval) {

        public DataSpec {
            Objects.requireNonNull(train, "data.train is required");
        }
    }
}
