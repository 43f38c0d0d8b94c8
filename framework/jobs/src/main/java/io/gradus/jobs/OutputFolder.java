package io.gradus.jobs;

import io.gradus.api.job.JobException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A job's output folder, held by one job at a time: a lock file keeps a second run (in this host,
 * another host or another process) from writing into it, and results are written under a
 * temporary name and moved into place, so a failure never leaves a half-written model or adapter.
 */
final class OutputFolder implements AutoCloseable {

    static final String LOCK = ".gradus.lock";
    static final String CHECKPOINT = "checkpoint";
    static final String JOB = "job.json";
    static final String PROVENANCE = "provenance.json";
    static final String METRICS = "metrics.jsonl";
    static final String EVALS = "eval.jsonl";
    static final String SAMPLES = "samples.jsonl";
    static final String LOG = "job.log";
    static final String ADAPTER = "adapter";
    static final String MODEL = "model";

    /** Everything a run writes; --overwrite deletes exactly these (other files are the user's). */
    private static final List<String> RUN_FILES = List.of(CHECKPOINT, JOB, PROVENANCE, METRICS, EVALS, SAMPLES, LOG,
            ADAPTER, MODEL);

    private final Path dir;
    private final FileChannel channel;

    private OutputFolder(Path dir, FileChannel channel) {
        this.dir = dir;
        this.channel = channel;
    }

    /**
     * Takes the folder for one job, creating it.
     *
     * @throws JobException CONFLICT if another run holds it, INVALID if it is a file
     */
    static OutputFolder lock(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new JobException(JobException.Reason.INVALID, "output " + dir + " is a file, not a folder");
        }
        try {
            Files.createDirectories(dir);
            FileChannel channel = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            } catch (IOException e) {
                channel.close();
                throw e;
            }
            if (lock == null) {
                channel.close();
                throw new JobException(JobException.Reason.CONFLICT, "output folder " + dir
                        + " is in use by another running job; wait for it or choose another output");
            }
            return new OutputFolder(dir, channel);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot take output folder " + dir, e);
        }
    }

    /** Whether {@code dir} holds (part of) a run: a checkpoint, a job file or a result. */
    static boolean holdsRun(Path dir) {
        return Files.isDirectory(dir.resolve(CHECKPOINT)) || Files.isRegularFile(dir.resolve(JOB))
                || Files.isDirectory(dir.resolve(ADAPTER)) || Files.isDirectory(dir.resolve(MODEL));
    }

    Path dir() {
        return dir;
    }

    Path resolve(String name) {
        return dir.resolve(name);
    }

    /** Deletes what an earlier run wrote, for --overwrite. */
    void clearRun() throws IOException {
        for (String name : RUN_FILES) {
            deleteRecursively(dir.resolve(name));
        }
    }

    /**
     * Writes a result folder through {@code writer} into a temporary sibling, then moves it to the
     * name the writer returns, replacing what was there.
     *
     * @return that name
     */
    String publish(ResultWriter writer) throws IOException {
        Path partial = Files.createTempDirectory(dir, ".result.partial-");
        try {
            String name = writer.write(partial);
            Path target = dir.resolve(name);
            Path old = dir.resolve("." + name + ".old");
            deleteRecursively(old);
            if (Files.exists(target)) {
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            deleteRecursively(old);
            return name;
        } finally {
            deleteRecursively(partial);
        }
    }

    /** Writes one result folder's files and says what the folder is called ({@link #ADAPTER}, {@link #MODEL}). */
    @FunctionalInterface
    interface ResultWriter {
        String write(Path dir) throws IOException;
    }

    /**
     * Releases the folder. The lock file stays (deleting it after unlocking would let a second
     * process lock a file a third one then replaces), unless nothing else was written: then the
     * folder goes too.
     */
    @Override
    public void close() {
        try {
            boolean onlyTheLock;
            try (Stream<Path> files = Files.list(dir)) {
                onlyTheLock = files.allMatch(f -> f.getFileName().toString().equals(LOCK));
            }
            if (onlyTheLock) {
                Files.deleteIfExists(dir.resolve(LOCK));
                Files.deleteIfExists(dir);
            }
            channel.close();
        } catch (IOException e) {
            // Releasing is best effort: the lock goes with the channel, whatever else fails.
        }
    }

    static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(path)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
