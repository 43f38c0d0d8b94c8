package io.gradus.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How much heap is live while some work runs: full collections run back to back on a second thread
 * during the work, and what each leaves in use (the heap pools' usage the JVM records at the end of
 * a collection, so allocations after it do not count) is a sample of what was live at that moment.
 * A float copy of a weight made inside a training step is live for the whole product that needs it,
 * so a peak that stays below the heap at rest plus the float size of the smallest weight shows that
 * no step held such a copy. The work runs far slower meanwhile.
 */
final class HeapProbe {

    private HeapProbe() {}

    /**
     * @param atRest bytes live before the work (after two full collections)
     * @param peak the most bytes found live after a collection during the work
     * @param collections how many collections sampled it
     */
    record Peak(long atRest, long peak, int collections) {}

    static Peak during(Runnable work) throws InterruptedException {
        System.gc();
        System.gc();
        long atRest = liveAfterLastCollection();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong peak = new AtomicLong(atRest);
        AtomicInteger collections = new AtomicInteger();
        Thread sampler = Thread.ofPlatform().daemon().name("gradus-heap-probe").start(() -> {
            while (running.get()) {
                System.gc();
                peak.accumulateAndGet(liveAfterLastCollection(), Math::max);
                collections.incrementAndGet();
            }
        });
        try {
            work.run();
        } finally {
            running.set(false);
            sampler.join();
        }
        return new Peak(atRest, peak.get(), collections.get());
    }

    /** The heap in use right after the last collection, summed over the heap's pools. */
    private static long liveAfterLastCollection() {
        long used = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage after = pool.getType() == MemoryType.HEAP ? pool.getCollectionUsage() : null;
            used += after == null ? 0 : after.getUsed();
        }
        return used;
    }
}
