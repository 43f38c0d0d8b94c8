package io.gradus.api.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A frozen copy of some parameters' values, taken once (a reference model as the job starts: the
 * policy's trainable weights, an adapter's size under LoRA). {@link ModelRunner#infer(TokenBatch,
 * boolean, WeightsSnapshot)} computes with these values in place of the live ones.
 */
public final class WeightsSnapshot {

    private final String name;
    private final List<Parameter> parameters;
    private final List<float[]> values;

    /** Copies the current values of {@code parameters}. */
    public WeightsSnapshot(String name, List<Parameter> parameters) {
        this.name = Objects.requireNonNull(name, "name");
        this.parameters = List.copyOf(parameters);
        this.values = new ArrayList<>();
        for (Parameter p : this.parameters) {
            values.add(p.values().clone());
        }
    }

    public String name() {
        return name;
    }

    /** The live parameters the snapshot stands in for. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** The frozen values of parameter {@code i} of {@link #parameters()}: writable only to restore a checkpoint. */
    public float[] values(int i) {
        return values.get(i);
    }

    /** Exchanges the frozen and the live values of every parameter; calling it twice restores both. */
    public void swap() {
        for (int i = 0; i < parameters.size(); i++) {
            float[] live = parameters.get(i).values();
            float[] frozen = values.get(i);
            for (int j = 0; j < live.length; j++) {
                float v = live[j];
                live[j] = frozen[j];
                frozen[j] = v;
            }
        }
    }
}
