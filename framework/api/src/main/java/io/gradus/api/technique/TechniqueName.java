package io.gradus.api.technique;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.osgi.service.component.annotations.ComponentPropertyType;

/**
 * Names a technique service: put it on the {@code @Component} class that provides a {@link Tuner}
 * or an {@link Objective}, for example {@code @TechniqueName("lora")}.
 *
 * <p>It becomes the service property {@value #PROPERTY}. Names are unique per family, lowercase,
 * and are what job files and the console use to refer to a technique.
 */
@ComponentPropertyType
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface TechniqueName {

    /** Prefix that turns the annotation name {@code technique.name} into {@value #PROPERTY}. */
    String PREFIX_ = "gradus.";

    /** The service property that carries a technique's name. */
    String PROPERTY = "gradus.technique.name";

    /** Lowercase name, letters, digits and '-', e.g. {@code lora}, {@code dpo}. */
    String value();
}
