package io.gradus.jobs;

import io.gradus.api.job.JobException;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import java.io.Serial;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * What a job does when the code of a technique bundle misbehaves: the job fails with a message that
 * names the technique, its bundle and version, and the host, its console and the other jobs go on.
 *
 * <p>Blame goes to the technique whose classes are innermost on the failure's stack, so an exception
 * thrown by a tuner's module while the objective's step runs the model is the tuner's. A class is a
 * technique's when the technique's bundle class loader defined it; for techniques that share the
 * job service's own class loader (on the class path, as in unit tests), when it lies in the
 * technique's package or below.
 *
 * <p>A tuner's {@code apply} (or {@code load}, for an adapter folder) runs on a thread of its own
 * and the caller waits for it at most the apply timeout: a technique that never returns fails its
 * job, or its chat, instead of holding a job worker or a console thread forever. Java cannot stop a
 * thread that does not listen, so the stuck thread is interrupted and left behind (a daemon; it
 * holds what the technique holds).
 */
final class TechniqueFaults {

    /** How long a tuner's apply may take by default ({@code -Dgradus.jobs.apply.timeout}, seconds). */
    static final Duration DEFAULT_APPLY_TIMEOUT = Duration.ofMinutes(10);

    /** A technique failed; the message says which one (bundle and version) and what happened. */
    static final class TechniqueFailure extends RuntimeException {
        @Serial
        private static final long serialVersionUID = 1L;

        TechniqueFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final List<TechniqueCatalog.Found<?>> techniques;

    /** @param techniques the job's techniques: the tuner and the objective */
    TechniqueFaults(List<TechniqueCatalog.Found<?>> techniques) {
        this.techniques = List.copyOf(techniques);
    }

    /** {@code tuner 'ia3' 1.0.0 (bundle com.example.ia3)}. */
    static String describe(TechniqueDescriptor d) {
        return d.family().label() + " '" + d.name() + "' " + d.version() + " (bundle " + d.bundleSymbolicName() + ")";
    }

    /**
     * The failure of a technique that {@code thrown} came from, if it came from one; job errors the
     * host raised itself (a bad job file, a missing data file) are nobody's fault but the job's.
     */
    Optional<TechniqueFailure> blame(Throwable thrown) {
        if (thrown instanceof TechniqueFailure || thrown instanceof JobException) {
            return Optional.empty();
        }
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            for (StackTraceElement frame : t.getStackTrace()) {
                for (TechniqueCatalog.Found<?> found : techniques) {
                    if (owns(found.technique().getClass(), frame.getClassName())) {
                        return Optional.of(new TechniqueFailure(describe(found.descriptor()) + " failed: "
                                + reason(thrown), thrown));
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** {@code -Dgradus.jobs.apply.timeout} in seconds, else {@link #DEFAULT_APPLY_TIMEOUT}. */
    static Duration configuredApplyTimeout() {
        String seconds = System.getProperty("gradus.jobs.apply.timeout");
        if (seconds == null || seconds.isBlank()) {
            return DEFAULT_APPLY_TIMEOUT;
        }
        try {
            return Duration.ofMillis(Math.round(Double.parseDouble(seconds.strip()) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("gradus.jobs.apply.timeout must be a number of seconds, was '" + seconds + "'");
        }
    }

    /**
     * Runs a tuner's {@code apply} on a thread of its own and waits at most {@code timeout}.
     *
     * @throws TechniqueFailure naming the tuner when it does not return in time
     */
    <T> T applyWithin(Duration timeout, TechniqueDescriptor tuner, Supplier<T> apply) {
        return within(timeout, tuner, "apply", apply);
    }

    /**
     * Runs {@code call} (the tuner's method {@code method}) on a thread of its own and waits at most
     * {@code timeout}. What the call throws is rethrown as it is, for the caller to {@link #blame}.
     *
     * @throws TechniqueFailure naming the tuner when it does not return in time
     */
    <T> T within(Duration timeout, TechniqueDescriptor tuner, String method, Supplier<T> call) {
        ClassLoader contextLoader = Thread.currentThread().getContextClassLoader();
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread worker = Thread.ofPlatform().daemon().name("gradus-apply-" + tuner.name()).unstarted(() -> {
            try {
                result.complete(call.get());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        worker.setContextClassLoader(contextLoader);
        worker.start();
        try {
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            worker.interrupt();
            throw new TechniqueFailure(describe(tuner) + " did not return from " + method + " within " + seconds(timeout)
                    + "; what waited for it is stopped and the technique's thread is left behind", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new TechniqueFailure(describe(tuner) + " failed: " + reason(cause), cause);
        } catch (InterruptedException e) {
            worker.interrupt();
            Thread.currentThread().interrupt();
            throw new TechniqueFailure(describe(tuner) + ": interrupted while waiting for its " + method, e);
        }
    }

    private static boolean owns(Class<?> technique, String className) {
        ClassLoader loader = technique.getClassLoader();
        if (loader != null && loader != TechniqueFaults.class.getClassLoader()) {
            try {
                return Class.forName(className, false, loader).getClassLoader() == loader;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }
        return className.startsWith(technique.getPackageName() + ".");
    }

    private static String reason(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
