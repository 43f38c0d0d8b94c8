package io.gradus.jobs;

import java.time.Duration;
import java.util.List;

/**
 * Which running jobs hold (pin) a bundle whose technique they use, so that the host can refuse or
 * defer what would change that bundle under them (see docs/DESIGN.md, "Jobs live in the host").
 * Implemented by the job service; consulted by every bundle operation of the host.
 */
public interface BundlePins {

    /**
     * The jobs holding bundle {@code bundleId} now, each described for a person (e.g.
     * {@code "job 3 (my-run)"}); empty when none.
     */
    List<String> holders(long bundleId);

    /**
     * Tells the holders of {@code bundleId} that a new revision waits for them: of that bundle, or of
     * a bundle it is wired to ({@code symbolicName} says which). Jobs that follow updates of their
     * technique's own bundle, to a version in their range, checkpoint and let go; the others keep
     * their revisions until they end.
     *
     * @param version the waiting revision's version
     */
    void updatePending(long bundleId, String symbolicName, String version);

    /**
     * Makes every holder of {@code bundleId} checkpoint and stop as interrupted (a forced stop or
     * removal of the bundle); returns when none holds it any more, or when {@code timeout} passed.
     */
    void evict(long bundleId, Duration timeout);
}
