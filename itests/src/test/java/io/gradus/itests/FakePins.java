package io.gradus.itests;

import io.gradus.jobs.BundlePins;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The job service's pins as a test drives them: jobs hold bundles when the test says so, let go of
 * them when evicted, and the calls the host makes are recorded.
 */
final class FakePins implements BundlePins {

    private final Map<Long, List<String>> held = new ConcurrentHashMap<>();
    private final Map<Long, AtomicInteger> updatesPending = new ConcurrentHashMap<>();
    private final List<Long> evicted = new CopyOnWriteArrayList<>();
    private final AtomicReference<RuntimeException> nextFailure = new AtomicReference<>();

    /** {@code job} holds bundle {@code id} until {@link #release}. */
    void hold(long id, String job) {
        held.put(id, List.of(job));
    }

    void release(long id) {
        held.remove(id);
    }

    /**
     * The next call of {@link #holders} from the host's bundle operations (not from a listing of
     * bundles) throws {@code failure}: a job service in trouble.
     */
    void failNextCall(RuntimeException failure) {
        nextFailure.set(failure);
    }

    /** How often the host said that an update of bundle {@code id} waits. */
    int updatesPending(long id) {
        return updatesPending.computeIfAbsent(id, k -> new AtomicInteger()).get();
    }

    List<Long> evicted() {
        return List.copyOf(evicted);
    }

    @Override
    public List<String> holders(long bundleId) {
        if (Thread.currentThread().getName().equals("gradus-bundle-operations")) {
            RuntimeException failure = nextFailure.getAndSet(null);
            if (failure != null) {
                throw failure;
            }
        }
        return held.getOrDefault(bundleId, List.of());
    }

    @Override
    public void updatePending(long bundleId, String symbolicName, String version) {
        updatesPending.computeIfAbsent(bundleId, k -> new AtomicInteger()).incrementAndGet();
    }

    /** The holders checkpoint and stop at once. */
    @Override
    public void evict(long bundleId, Duration timeout) {
        evicted.add(bundleId);
        held.remove(bundleId);
    }
}
