package io.gradus.api.technique;

import java.util.List;
import java.util.Objects;

/**
 * The settings of a configuration record, for people and for generated forms: built by
 * {@link ConfigSchemas#of(Class)} from the record's components and their {@link Setting} and
 * {@link Live} annotations.
 *
 * @param name the record's simple name, e.g. {@code LoraConfig}
 * @param fields one per record component, in declaration order
 */
public record ConfigSchema(String name, List<Field> fields) {

    public ConfigSchema {
        Objects.requireNonNull(name, "name");
        fields = List.copyOf(fields);
    }

    /** What kind of value a field holds, named as JSON Schema names its types. */
    public enum Kind {
        INTEGER,
        NUMBER,
        BOOLEAN,
        STRING,
        /** A list: see {@link Field#items()}. */
        LIST,
        /** A nested record (see {@link Field#nested()}) or a map. */
        OBJECT,
        /** Any JSON value (a component typed {@code Object}: a number or a word, say). */
        ANY
    }

    /**
     * One setting.
     *
     * @param name the component's name, as a job file spells it
     * @param kind what it holds
     * @param items the kind of a list's elements, else {@code null}
     * @param defaultValue what a job that leaves the field out gets (plain JSON values: numbers,
     *     strings, booleans, lists and maps), or {@code null} when there is none
     * @param required whether a job must give it (no default)
     * @param description the {@link Setting#description()}, or empty
     * @param minimum the lower bound, or {@code null}
     * @param exclusiveMinimum whether the lower bound is excluded
     * @param maximum the upper bound, or {@code null}
     * @param exclusiveMaximum whether the upper bound is excluded
     * @param choices the values a string (or each string of a list) may take; empty: any
     * @param live whether it may change while a job runs ({@link Live})
     * @param nested the schema of a record-typed field, else {@code null}
     */
    public record Field(
            String name,
            Kind kind,
            Kind items,
            Object defaultValue,
            boolean required,
            String description,
            Double minimum,
            boolean exclusiveMinimum,
            Double maximum,
            boolean exclusiveMaximum,
            List<String> choices,
            boolean live,
            ConfigSchema nested) {

        public Field {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(kind, "kind");
            description = description == null ? "" : description;
            choices = List.copyOf(choices);
        }
    }
}
