package io.gradus.core.fuzz;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * The contract every loader of a user's file keeps, checked on one input: loading ends, within a
 * time limit and an allocation budget, either in a value or in a clean error. A clean error is an
 * {@link IOException} or {@link IllegalArgumentException} whose message names the file and reads
 * as a sentence for a person: no Java class names, no Jackson internals ({@code [Source: ...]},
 * "not marked as ignorable"), no stack-trace fragments. Anything else fails the property: another
 * {@link RuntimeException}, an {@link Error} ({@code OutOfMemoryError}, {@code StackOverflowError}),
 * a load that does not finish (a hang), or one that allocates more than its budget (a header that
 * claims 2^40 bytes and gets them, or would have on a larger heap).
 *
 * <p>The allocation budget is measured, not inferred from an {@code OutOfMemoryError}: the load runs
 * on a worker thread and the JVM's per-thread allocation counter
 * ({@code com.sun.management.ThreadMXBean}) tells what it allocated, whatever the heap size.
 */
public final class CleanLoad {

    /** Default time limit: far above any correct load of a fuzz-sized file. */
    public static final Duration TIME_LIMIT = Duration.ofSeconds(10);

    /** Default allocation budget: a fixed allowance plus this many bytes per byte of input. */
    public static final long BASE_BUDGET = 64L << 20;

    public static final int BUDGET_PER_INPUT_BYTE = 64;

    /** Fragments that only a programmer (or a stack trace) would write. */
    private static final List<Pattern> UNCLEAN = List.of(
            Pattern.compile("\\[Source:"),
            Pattern.compile("not marked as ignorable"),
            Pattern.compile("through reference chain"),
            Pattern.compile("\\b(java|javax|jdk|sun|com\\.fasterxml|ai\\.djl|io\\.gradus)\\.[a-z]+\\."),
            Pattern.compile("\\b[A-Z][A-Za-z]*(Exception|Error)\\b"),
            Pattern.compile("\\bat [a-z]+\\.[a-z.]+[A-Z]\\w*\\.\\w+\\("));

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** The thread loads run on (one reused: starting a thread per try would cost more than most loads). */
    private static ExecutorService worker;

    private CleanLoad() {}

    private static synchronized ExecutorService worker() {
        if (worker == null) {
            worker = Executors.newSingleThreadExecutor(task -> {
                Thread thread = new Thread(task, "fuzz-load");
                thread.setDaemon(true); // a hung load must not keep the test JVM alive
                return thread;
            });
        }
        return worker;
    }

    private static synchronized void abandonWorker() {
        worker.shutdownNow();
        worker = null;
    }

    /** A load of one or more files. */
    @FunctionalInterface
    public interface Loader<T> {
        T load() throws Exception;
    }

    /**
     * Runs {@code loader} with the default limits; {@code places} are the files (or folders) the
     * input went into, one of which a clean error must name, and whose total size sets the budget.
     *
     * @return the loaded value, or empty after a clean error
     * @throws AssertionError when the outcome breaks the contract
     */
    public static <T> Optional<T> attempt(Loader<T> loader, Path... places) {
        long inputBytes = Arrays.stream(places).mapToLong(CleanLoad::size).sum();
        return attempt(loader, TIME_LIMIT, BASE_BUDGET + BUDGET_PER_INPUT_BYTE * inputBytes, places);
    }

    /** As {@link #attempt(Loader, Path...)}, with explicit limits. */
    public static <T> Optional<T> attempt(Loader<T> loader, Duration timeLimit, long allocationBudget, Path... places) {
        AtomicReference<T> value = new AtomicReference<>();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        long[] allocated = new long[1];
        Future<?> run = worker().submit(() -> {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            try {
                value.set(loader.load());
            } catch (Throwable t) {
                thrown.set(t);
            } finally {
                allocated[0] = THREADS.getCurrentThreadAllocatedBytes() - before;
            }
        });
        try {
            run.get(timeLimit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // The hung load keeps its thread; the next attempt gets a fresh one.
            abandonWorker();
            throw new AssertionError("the load did not finish within " + timeLimit.toSeconds() + " s (a hang?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } catch (ExecutionException e) {
            throw new AssertionError("the fuzz harness failed", e.getCause());
        }
        if (allocated[0] > allocationBudget) {
            throw new AssertionError("the load allocated " + allocated[0] + " bytes, over its budget of "
                    + allocationBudget, thrown.get());
        }
        Throwable t = thrown.get();
        if (t == null) {
            return Optional.ofNullable(value.get());
        }
        if (!(t instanceof IOException) && !(t instanceof IllegalArgumentException)) {
            throw new AssertionError("the load threw " + t + " instead of a clean IOException or IllegalArgumentException", t);
        }
        String message = String.valueOf(t.getMessage());
        if (Arrays.stream(places).noneMatch(p -> message.contains(p.getFileName().toString()))) {
            throw new AssertionError("the error does not name the file (" + Arrays.toString(places) + "): " + message, t);
        }
        assertReadable(message, t);
        return Optional.empty();
    }

    /**
     * Checks that an error message reads as a sentence for a person: no Java class or package names,
     * no Jackson internals, no stack-trace fragments.
     *
     * @throws AssertionError naming the fragment found
     */
    public static void assertReadable(String message) {
        assertReadable(message, null);
    }

    private static void assertReadable(String message, Throwable cause) {
        for (Pattern unclean : UNCLEAN) {
            if (unclean.matcher(message).find()) {
                throw new AssertionError("the error message has programmer's text (" + unclean + "): " + message, cause);
            }
        }
    }

    private static long size(Path place) {
        try (var files = java.nio.file.Files.walk(place)) {
            return files.filter(java.nio.file.Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException e) {
            return 0;
        }
    }
}
