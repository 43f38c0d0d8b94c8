package io.gradus.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.job.JobException;
import io.gradus.api.technique.Live;
import io.gradus.core.train.Trainer;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Changes to a running job's settings (see {@link io.gradus.api.job.JobService#steer}): checked
 * when asked for, applied by the run before the step they are recorded for, and replayed at the
 * same steps on resume so a steered run stays exactly reproducible.
 */
final class Steering {

    static final String LEARNING_RATE = "learningRate";
    static final String LEARNING_RATE_SCALE = "learningRateScale";
    static final String OBJECTIVE = "objective";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A change recorded for a step.
     *
     * @param step the first (1-based) optimizer step that runs with it
     * @param changes the settings, as asked for
     */
    record Change(long step, Map<String, Object> changes) {}

    private Steering() {}

    /**
     * Checks {@code changes} before they are accepted: the names, and the values as the objective's
     * configuration record would take them (bound now, so a value the record refuses is refused here,
     * not at the next step, where it would fail the job).
     *
     * @param objectiveConfig the objective's configuration as the job runs it now
     * @throws JobException INVALID naming the setting that cannot change or the value that is wrong
     */
    static void check(Map<String, Object> changes, Object objectiveConfig) {
        if (changes.isEmpty()) {
            throw invalid("nothing to change: give learningRate, learningRateScale or objective settings");
        }
        for (var entry : changes.entrySet()) {
            switch (entry.getKey()) {
                case LEARNING_RATE, LEARNING_RATE_SCALE -> nonNegative(entry.getKey(), entry.getValue());
                case OBJECTIVE -> {
                    if (!(entry.getValue() instanceof Map<?, ?> settings) || settings.isEmpty()) {
                        throw invalid("objective must be an object of settings, e.g. {\"objective\": {\"beta\": 0.2}}");
                    }
                    Set<String> live = liveSettings(objectiveConfig.getClass());
                    for (Object name : settings.keySet()) {
                        if (!live.contains(String.valueOf(name))) {
                            throw invalid("the objective's setting '" + name + "' cannot change while the job runs; "
                                    + (live.isEmpty() ? "this objective has no live settings"
                                            : "live settings: " + String.join(", ", live)));
                        }
                    }
                    rebind(objectiveConfig, settings);
                }
                default -> throw invalid("'" + entry.getKey() + "' cannot be steered; steerable: learningRate, "
                        + "learningRateScale, objective");
            }
        }
    }

    /** The names of the components of {@code configType} marked {@link Live}. */
    static Set<String> liveSettings(Class<?> configType) {
        Set<String> live = new TreeSet<>();
        RecordComponent[] components = configType.getRecordComponents();
        if (components != null) {
            for (RecordComponent c : components) {
                if (c.isAnnotationPresent(Live.class)) {
                    live.add(c.getName());
                }
            }
        }
        return live;
    }

    /**
     * Applies {@code changes} to {@code trainer} and returns the objective's configuration from now
     * on (rebound with the changed settings, so its record validation runs).
     */
    @SuppressWarnings("unchecked")
    static <C> C apply(Map<String, Object> changes, Trainer<C> trainer, C config) {
        if (changes.get(LEARNING_RATE) instanceof Number lr) {
            trainer.setPeakLearningRate(lr.doubleValue());
        }
        if (changes.get(LEARNING_RATE_SCALE) instanceof Number scale) {
            trainer.setLearningRateScale(scale.doubleValue());
        }
        if (changes.get(OBJECTIVE) instanceof Map<?, ?> settings) {
            config = rebind(config, settings);
            trainer.setObjectiveConfig(config);
        }
        return config;
    }

    /** {@code config} with {@code settings} changed, bound again so the record's own validation runs. */
    @SuppressWarnings("unchecked")
    private static <C> C rebind(C config, Map<?, ?> settings) {
        Map<String, Object> merged = new LinkedHashMap<>(JSON.convertValue(config, Map.class));
        settings.forEach((k, v) -> merged.put(String.valueOf(k), v));
        return JobFiles.bind(merged, (Class<C>) config.getClass(), "steering the objective");
    }

    /** Changes recorded in a provenance file's {@code steering} list. */
    @SuppressWarnings("unchecked")
    static List<Change> fromProvenance(Map<String, Object> provenance) {
        Object list = provenance.get("steering");
        if (!(list instanceof List<?> entries)) {
            return List.of();
        }
        return entries.stream()
                .map(e -> (Map<String, Object>) e)
                .map(e -> new Change(((Number) e.get("step")).longValue(), (Map<String, Object>) e.get("changes")))
                .toList();
    }

    private static void nonNegative(String name, Object value) {
        if (!(value instanceof Number n) || !(n.doubleValue() >= 0) || Double.isInfinite(n.doubleValue())) {
            throw invalid(name + " must be a finite number >= 0, was " + value);
        }
    }

    private static JobException invalid(String message) {
        return new JobException(JobException.Reason.INVALID, message);
    }
}
