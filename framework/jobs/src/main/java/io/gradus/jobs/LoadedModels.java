package io.gradus.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Models loaded for generation and kept for the next request on the same source: a small cache,
 * least recently used first out, bounded by a count and by bytes. A model is handed out to one
 * caller at a time ({@link #take}) and comes back when that caller is done with it ({@link #keep}),
 * because a model's modules keep work buffers that two generations must not share.
 *
 * <p>A key is a source (what was loaded: a base folder, base and adapter, a job's result or
 * checkpoint) and a fingerprint of the files it was read from ({@link #fingerprint}): when the files
 * change (a running job wrote a new checkpoint), the key changes, and entries of the same source
 * under another fingerprint are dropped the next time the source is asked for.
 *
 * @param <M> what is kept
 */
final class LoadedModels<M> {

    /** How many models are kept by default ({@code -Dgradus.generation.cache.models}). */
    static final int DEFAULT_MODELS = 2;

    /**
     * What was loaded, and from which files.
     *
     * @param source what a person would call it, e.g. {@code job 3 (my-run), checkpoint}
     * @param fingerprint the names, sizes and times of the files it was read from
     */
    record Key(String source, String fingerprint) {}

    private record Entry<M>(Key key, M model, long bytes) {}

    private final int maxModels;
    private final long maxBytes;
    /** Idle models, the least recently used first. */
    private final LinkedList<Entry<M>> idle = new LinkedList<>();
    private long bytes;

    /**
     * @param maxModels how many idle models are kept (0: none)
     * @param maxBytes how many bytes of idle models are kept
     */
    LoadedModels(int maxModels, long maxBytes) {
        if (maxModels < 0 || maxBytes < 0) {
            throw new IllegalArgumentException("the model cache's limits must not be negative: " + maxModels + " models, "
                    + maxBytes + " bytes");
        }
        this.maxModels = maxModels;
        this.maxBytes = maxBytes;
    }

    /**
     * The limits set by {@code -Dgradus.generation.cache.models} (default 2) and
     * {@code -Dgradus.generation.cache.bytes} (default a quarter of the maximum heap).
     */
    static <M> LoadedModels<M> configured() {
        return new LoadedModels<>((int) property("gradus.generation.cache.models", DEFAULT_MODELS),
                property("gradus.generation.cache.bytes", Runtime.getRuntime().maxMemory() / 4));
    }

    private static long property(String name, long fallback) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, was '" + value + "'");
        }
    }

    /**
     * Takes the idle model loaded under {@code key}, if one is kept; it is the caller's alone until it
     * is {@linkplain #keep kept} again. Models of the same source under another fingerprint are stale
     * and dropped.
     */
    synchronized Optional<M> take(Key key) {
        M found = null;
        for (Iterator<Entry<M>> it = idle.iterator(); it.hasNext();) {
            Entry<M> entry = it.next();
            boolean stale = entry.key().source().equals(key.source()) && !entry.key().equals(key);
            boolean match = found == null && entry.key().equals(key);
            if (stale || match) {
                it.remove();
                bytes -= entry.bytes();
                if (match) {
                    found = entry.model();
                }
            }
        }
        return Optional.ofNullable(found);
    }

    /** Keeps an idle model for the next {@link #take} of {@code key}, dropping the least recently used beyond the limits. */
    synchronized void keep(Key key, M model, long modelBytes) {
        if (maxModels == 0 || modelBytes > maxBytes) {
            return;
        }
        idle.addLast(new Entry<>(key, model, modelBytes));
        bytes += modelBytes;
        while (idle.size() > maxModels || bytes > maxBytes) {
            bytes -= idle.removeFirst().bytes();
        }
    }

    /**
     * The names, sizes, modification times and file keys (inodes) of the files directly in
     * {@code folders} (a model
     * folder, an adapter or checkpoint folder): what a model loaded from them depends on.
     *
     * @throws IOException when a folder cannot be listed (a checkpoint folder being replaced right now)
     */
    static String fingerprint(Path... folders) throws IOException {
        List<String> parts = new ArrayList<>();
        for (Path folder : folders) {
            List<Path> files;
            try (Stream<Path> listed = Files.list(folder)) {
                files = listed.sorted(Comparator.comparing(Path::toString)).toList();
            } catch (NoSuchFileException e) {
                throw new NoSuchFileException(folder.toString(), null, "the folder is not there");
            }
            for (Path file : files) {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                if (attributes.isRegularFile()) {
                    parts.add(file + ":" + attributes.size() + ":" + attributes.lastModifiedTime().toMillis() + ":"
                            + attributes.fileKey());
                }
            }
        }
        return String.join("|", parts);
    }
}
