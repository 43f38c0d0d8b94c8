package io.gradus.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Tuner;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The saved adapter a job starts from ({@code adapter:} in its file, {@code gradus train --adapter}):
 * the tuner and settings its {@code adapter_config.json} gives become the job's. A tuner the job
 * names itself must agree: the adapter's tuner, or one that composes it (its configuration record
 * has a component of the adapter tuner's configuration type, as {@code qlora}'s {@code lora}), with
 * every setting the job writes equal to the adapter's; the settings it leaves out are the adapter's.
 */
final class StartingAdapter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private StartingAdapter() {}

    /**
     * {@code spec} with its tuner as the adapter makes it: named, with every setting written out.
     *
     * @param spec a job whose {@link JobSpec#adapter()} is an absolute path
     * @throws JobException INVALID naming the adapter folder and what is wrong or differs
     */
    static JobSpec resolve(JobSpec spec, TechniqueCatalog catalog) {
        Path folder = Path.of(spec.adapter());
        Adapters.Saved saved;
        try {
            saved = Adapters.read(folder);
        } catch (IOException e) {
            throw invalid("adapter: " + e.getMessage(), e);
        }
        Tuner<?> adapterTuner = catalog.tuner(saved.tuner(), null)
                .orElseThrow(() -> invalid("adapter: " + saved.configFile() + " needs the tuner '" + saved.tuner()
                        + "', which is not installed", null))
                .technique();
        Map<String, Object> adapterSettings;
        try {
            adapterSettings = settings(Adapters.bind(saved, adapterTuner.configType()));
        } catch (IOException e) {
            throw invalid("adapter: " + e.getMessage(), e);
        }
        TechniqueRef job = spec.tuner();
        if (job == null) {
            return spec.withTuner(new TechniqueRef(saved.tuner(), null, adapterSettings));
        }
        if (job.name().equals(saved.tuner())) {
            requireAgreement(job.config(), adapterTuner.configType(), adapterSettings, "tuner '" + job.name() + "'", saved);
            return spec.withTuner(new TechniqueRef(job.name(), job.version(), adapterSettings));
        }
        Tuner<?> jobTuner = catalog.tuner(job.name(), job.version())
                .orElseThrow(() -> JobRun.missing(catalog, TechniqueFamily.TUNER, job)).technique();
        String nested = composed(jobTuner.configType(), adapterTuner.configType());
        if (nested == null) {
            throw invalid("the job's tuner '" + job.name() + "' does not agree with the adapter " + folder + ": the adapter "
                    + "is a '" + saved.tuner() + "' adapter (" + saved.configFile().getFileName() + "); leave the tuner out "
                    + "or name '" + saved.tuner() + "'", null);
        }
        Object jobNested = job.config().get(nested);
        if (jobNested != null && !(jobNested instanceof Map<?, ?>)) {
            throw invalid("tuner '" + job.name() + "' config: " + nested + " must be an object of settings", null);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> written = jobNested == null ? Map.of() : (Map<String, Object>) jobNested;
        requireAgreement(written, adapterTuner.configType(), adapterSettings, "tuner '" + job.name() + "' " + nested, saved);
        Map<String, Object> merged = new LinkedHashMap<>(job.config());
        merged.put(nested, adapterSettings);
        return spec.withTuner(new TechniqueRef(job.name(), job.version(), merged));
    }

    /** The component of {@code outer} whose type is {@code inner} (a tuner composing another), or null. */
    private static String composed(Class<?> outer, Class<?> inner) {
        RecordComponent[] components = outer.getRecordComponents();
        if (components != null) {
            for (RecordComponent c : components) {
                if (c.getType().equals(inner)) {
                    return c.getName();
                }
            }
        }
        return null;
    }

    /**
     * Refuses settings the job writes that differ from the adapter's, naming each: both bound to the
     * configuration record first, so a default written out, a number written as 16 or 16.0, or a list
     * in another order compares as what it means.
     */
    private static void requireAgreement(Map<String, Object> written, Class<?> configType, Map<String, Object> adapter,
            String where, Adapters.Saved saved) {
        if (written.isEmpty()) {
            return;
        }
        Map<String, Object> job = settings(JobFiles.bind(written, configType, where + " config"));
        List<String> differences = new ArrayList<>();
        for (String key : new TreeSet<>(written.keySet())) {
            if (!Objects.equals(comparable(job.get(key)), comparable(adapter.get(key)))) {
                differences.add(key + " is " + job.get(key) + " in the job, " + adapter.get(key) + " in the adapter");
            }
        }
        if (!differences.isEmpty()) {
            throw invalid(where + " does not agree with the adapter " + saved.folder() + " (" + saved.configFile().getFileName()
                    + "): " + String.join("; ", differences) + ". Leave these settings out to take the adapter's", null);
        }
    }

    /** A bound configuration record as its settings, by component name. */
    private static Map<String, Object> settings(Object config) {
        return JSON.convertValue(config, new TypeReference<LinkedHashMap<String, Object>>() {});
    }

    /** Lists compare as sets of their elements (PEFT writes target_modules sorted); numbers as doubles. */
    private static Object comparable(Object value) {
        if (value instanceof List<?> list) {
            TreeSet<String> set = new TreeSet<>();
            list.forEach(e -> set.add(String.valueOf(comparable(e))));
            return set;
        }
        return value instanceof Number n ? n.doubleValue() : value;
    }

    private static JobException invalid(String message, Exception cause) {
        return new JobException(JobException.Reason.INVALID, message, cause);
    }
}
