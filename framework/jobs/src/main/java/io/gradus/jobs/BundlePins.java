package io.gradus.jobs;

import java.time.Duration;
import java.util.List;

/**
 * Which running jobs hold (pin) a bundle whose technique they use, so that the host can refuse or
 * defer what would change that bundle under them (see docs/DESIGN.md, "Jobs live in the host").
 * Implemented by the job service; consulted by every bundle operation of the host.
 */
public interface BundlePins {

    /** No job holds anything: for a host that runs no jobs. */
    BundlePins NONE = new BundlePins() {
        @Override
        public List<String> holders(long bundleId) {
            return List.of();
        }

        @Override
        public void updatePending(long bundleId) {}

        @Override
        public void evict(long bundleId, Duration timeout) {}
    };

    /**
     * The jobs holding bundle {@code bundleId} now, each described for a person (e.g.
     * {@code "job 3 (my-run)"}); empty when none.
     */
    List<String> holders(long bundleId);

    /**
     * Tells the holders that a new revision of {@code bundleId} waits for them: those that follow
     * updates checkpoint and let go; the others keep their revision until they end.
     */
    void updatePending(long bundleId);

    /**
     * Makes every holder of {@code bundleId} checkpoint and stop as interrupted (a forced stop or
     * removal of the bundle); returns when none holds it any more, or when {@code timeout} passed.
     */
    void evict(long bundleId, Duration timeout);
}
