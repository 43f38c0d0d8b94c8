package io.gradus.host;

import static io.gradus.api.runtime.BundleOperationException.Reason.FAILED;

import io.gradus.api.runtime.BundleOperationException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The one thread on which every bundle operation runs, one at a time: the deploy folder's polls and
 * the operations asked through {@code BundleAdmin}. A check-then-act such as "no bundle has this
 * symbolic name, so install it" cannot interleave with another operation.
 */
final class BundleOperations implements AutoCloseable {

    private final ScheduledThreadPoolExecutor thread;
    private final BiConsumer<String, String> problems;
    private volatile Thread runner;

    /** @param problems receives (source, message) of an unexpected failure of a periodic task */
    BundleOperations(BiConsumer<String, String> problems) {
        this.problems = problems;
        this.thread = new ScheduledThreadPoolExecutor(1, task -> {
            Thread t = new Thread(task, "gradus-bundle-operations");
            t.setDaemon(true);
            runner = t;
            return t;
        });
    }

    /**
     * Runs {@code operation} on the operations thread after those before it, and waits for it. Run
     * from the operations thread itself (a bundle that operates bundles while it starts), it runs at
     * once: waiting would wait forever.
     *
     * @throws BundleOperationException what the operation threw, or if the host is stopping
     */
    <T> T call(Callable<T> operation) {
        if (Thread.currentThread() == runner) {
            return callHere(operation);
        }
        Future<T> result;
        try {
            result = thread.submit(operation);
        } catch (RejectedExecutionException e) {
            throw new BundleOperationException(FAILED, "the host is stopping; no more bundle operations", e);
        }
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BundleOperationException(FAILED, "interrupted while waiting for the bundle operation", e);
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        }
    }

    private static <T> T callHere(Callable<T> operation) {
        try {
            return operation.call();
        } catch (Exception e) {
            throw rethrown(e);
        }
    }

    private static RuntimeException rethrown(Throwable failure) {
        if (failure instanceof RuntimeException e) {
            return e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        return new BundleOperationException(FAILED, String.valueOf(failure.getMessage()), failure);
    }

    /**
     * Runs {@code task} every {@code period} on the operations thread, for as long as the host runs:
     * an exception (or error) of one run becomes a problem named {@code what}, and the next run
     * happens as usual (a scheduled task that throws is otherwise never run again).
     */
    void every(Duration period, String what, Runnable task) {
        thread.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException | LinkageError | AssertionError e) {
                String why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
                problems.accept(what, "failed (" + why + "); it goes on at the next run");
            }
        }, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops the thread after the operation in progress, if any; later calls are refused. */
    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
