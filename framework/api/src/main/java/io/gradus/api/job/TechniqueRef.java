package io.gradus.api.job;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Names a technique in a job and configures it.
 *
 * @param name the technique's name, e.g. {@code lora}
 * @param version an OSGi version range the providing bundle must satisfy, e.g. {@code [1.0,2.0)};
 *     {@code null} takes the highest version installed
 * @param config the technique's settings, bound to its configuration record by the host
 */
public record TechniqueRef(String name, String version, Map<String, Object> config) {

    public TechniqueRef {
        Objects.requireNonNull(name, "technique name is required");
        if (name.isBlank()) {
            throw new IllegalArgumentException("technique name must not be blank");
        }
        // A setting written as null means "the default": kept, which Map.copyOf would refuse.
        config = config == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(config));
    }
}
