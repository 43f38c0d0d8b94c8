package io.gradus.api.technique;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a component of an objective's configuration record that may change while a job runs
 * (steering: DPO's β, PPO's KL coefficient). The job service rebinds the configuration with the new
 * value and hands it to the objective from the next step on; components without this mark are
 * refused, because changing them mid-run would not be meaningful (a data format, a loss type).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Live {}
