package io.gradus.api.technique;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What a person needs to know about one component of a configuration record, for the forms the
 * console generates ({@link ConfigSchemas}): a description and the values it accepts. Optional: a
 * component without it still gets its name, type and default.
 *
 * <p>The bounds and choices describe what the record's constructor accepts; the constructor stays
 * the place that enforces them.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Setting {

    /** One sentence for people: what the setting does, and its unit if it has one. */
    String description() default "";

    /** The smallest value a number may take ({@code -Infinity}: no lower bound). */
    double min() default Double.NEGATIVE_INFINITY;

    /** Whether {@link #min()} itself is excluded. */
    boolean exclusiveMin() default false;

    /** The largest value a number may take ({@code Infinity}: no upper bound). */
    double max() default Double.POSITIVE_INFINITY;

    /** Whether {@link #max()} itself is excluded. */
    boolean exclusiveMax() default false;

    /** The values a string, or each string of a list, may take; empty when any value goes. */
    String[] choices() default {};
}
