package io.gradus.api.technique;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Describes configuration records (a technique's {@link Technique#configType()}, a job's
 * hyper-parameters, generation settings) as {@link ConfigSchema}s, so that forms and documentation
 * follow the records instead of repeating them. Provided by the host as a service.
 */
@ProviderType
public interface ConfigSchemas {

    /**
     * The schema of {@code recordType}: its components with their kinds, the defaults a job gets when
     * it leaves them out (found by binding an empty object exactly as a job's settings are bound),
     * and what {@link Setting} and {@link Live} say about them.
     *
     * @throws IllegalArgumentException if {@code recordType} is not a record
     */
    ConfigSchema of(Class<?> recordType);
}
