package io.gradus.host;

import io.gradus.jobs.BundlePins;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.osgi.framework.Bundle;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * The running jobs' hold on a bundle, wiring included: a job that uses the {@code qlora} technique
 * holds the {@code lora} bundle too, because {@code qlora} imports its package, and updating or
 * removing {@code lora} would refresh {@code qlora} under the job. So a bundle is held when any
 * bundle of its dependency closure (itself and every bundle wired to it, transitively) is pinned.
 */
final class JobHolds {

    private final BundlePins pins;
    private final FrameworkWiring wiring;

    JobHolds(BundlePins pins, FrameworkWiring wiring) {
        this.pins = pins;
        this.wiring = wiring;
    }

    /** The jobs holding {@code bundle}, each once, for a person. */
    List<String> holders(Bundle bundle) {
        Set<String> holders = new LinkedHashSet<>();
        for (Bundle b : closure(bundle)) {
            holders.addAll(pins.holders(b.getBundleId()));
        }
        return List.copyOf(holders);
    }

    /** Makes every job holding {@code bundle} (through any bundle of its closure) checkpoint and stop. */
    void evict(Bundle bundle, Duration timeout) {
        for (Bundle b : closure(bundle)) {
            if (!pins.holders(b.getBundleId()).isEmpty()) {
                pins.evict(b.getBundleId(), timeout);
            }
        }
    }

    /** Tells the holders of {@code bundle} that its revision {@code version} waits for them. */
    void updatePending(Bundle bundle, String version) {
        for (Bundle b : closure(bundle)) {
            if (!pins.holders(b.getBundleId()).isEmpty()) {
                // The pinned bundle is not the one updated when it is a dependent: its holders learn which bundle waits.
                pins.updatePending(b.getBundleId(), bundle.getSymbolicName(), version);
            }
        }
    }

    private Collection<Bundle> closure(Bundle bundle) {
        if (bundle.getState() == Bundle.UNINSTALLED) {
            return List.of(bundle);
        }
        List<Bundle> closure = new ArrayList<>(wiring.getDependencyClosure(List.of(bundle)));
        if (!closure.contains(bundle)) {
            closure.add(bundle);
        }
        return closure;
    }
}
