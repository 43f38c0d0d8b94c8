package io.gradus.api.technique;

import java.util.Locale;

/** The two families of techniques and the service interface each one registers. */
public enum TechniqueFamily {
    /** Rewrites the model and decides which parameters train ({@link Tuner}). */
    TUNER(Tuner.class),
    /** Turns a batch into a loss and the gradient of the model outputs ({@link Objective}). */
    OBJECTIVE(Objective.class);

    private final Class<?> serviceType;

    TechniqueFamily(Class<?> serviceType) {
        this.serviceType = serviceType;
    }

    /** The service interface a technique of this family registers. */
    public Class<?> serviceType() {
        return serviceType;
    }

    /** Lowercase name used in JSON and on the command line ({@code tuner}, {@code objective}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
