package io.gradus.host;

import io.gradus.jobs.BundlePins;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * The framework operations behind the deploy folder and {@code BundleAdmin}: install, start, update
 * and uninstall a bundle, with the refresh that follows, and the changes that wait for the running
 * jobs that pin their bundle (docs/DESIGN.md, "The deploy folder, owned by the host"). Called on
 * the bundle-operations thread only, except the read-only {@link #pending} and {@link #holders}.
 */
final class BundleChanges {

    /** How long a refresh (the framework letting go of old revisions) may take. */
    private static final Duration REFRESH_TIMEOUT = Duration.ofSeconds(30);

    private final BundleContext context;
    private final JobHolds holds;
    private final HostProblems problems;
    /** Changes waiting for the jobs that pin their bundle, by bundle id. */
    private final Map<Long, Waiting> waiting = new ConcurrentHashMap<>();
    /**
     * The jar of each bundle's current revision, for those installed or updated from bytes: an update
     * whose revision does not run goes back to it.
     */
    private final Map<Long, BundleJar> lastGood = new ConcurrentHashMap<>();

    /** A change that waits: an update to {@code jar} ({@code null}: reload from its location), or a removal. */
    private record Waiting(boolean removal, BundleJar jar) {
        String describe() {
            return removal ? "removal" : jar == null ? "reload" : "update to " + jar.version();
        }
    }

    BundleChanges(BundleContext context, BundlePins pins, HostProblems problems) {
        this.context = context;
        this.holds = new JobHolds(pins, wiring());
        this.problems = problems;
    }

    /** The cause under which a bundle's start failure is kept in the problems list. */
    static String startCause(long bundleId) {
        return bundleCause(bundleId) + "start";
    }

    /** The prefix of every cause about one bundle. */
    static String bundleCause(long bundleId) {
        return "bundle " + bundleId + " ";
    }

    /**
     * An update whose new revision would not run (it does not resolve, or does not start): the bundle
     * went back to its last good revision, which runs as before.
     */
    static final class RevisionRefused extends BundleException {
        RevisionRefused(String message) {
            super(message);
        }
    }

    /** The jar of {@code bundle}'s current revision, if the host installed or updated it from bytes. */
    Optional<BundleJar> lastGood(Bundle bundle) {
        return Optional.ofNullable(lastGood.get(bundle.getBundleId()));
    }

    /** Installs {@code jar} (not started) from the bytes that were validated. */
    Bundle install(String location, BundleJar jar) throws BundleException {
        Bundle bundle = context.installBundle(location, new ByteArrayInputStream(jar.bytes()));
        lastGood.put(bundle.getBundleId(), jar);
        return bundle;
    }

    /**
     * Starts {@code bundle} (fragments are not started).
     *
     * @return {@code null} if it runs, or why it does not, in words; that reason is also the
     *     bundle's problem until it starts or goes
     */
    String start(Bundle bundle) {
        String why = whyNotStarted(bundle);
        return why == null ? null : notStarted(bundle, why);
    }

    /** Reports that {@code bundle} does not start, {@code why}, as its problem, and returns the message. */
    private String notStarted(Bundle bundle, String why) {
        String message = FrameworkBundleAdmin.describe(bundle) + " is installed but does not start: " + why;
        problems.report(startCause(bundle.getBundleId()), FrameworkBundleAdmin.describe(bundle), message);
        return message;
    }

    /** Starts {@code bundle} if it is not a fragment and not running: {@code null} if it runs, else why not, in words. */
    private String whyNotStarted(Bundle bundle) {
        if (isFragment(bundle) || bundle.getState() == Bundle.ACTIVE) {
            return null;
        }
        try {
            bundle.start();
            problems.clear(startCause(bundle.getBundleId()));
            return null;
        } catch (BundleException | IllegalStateException e) {
            String why = BundleDiagnosis.explain(bundle, wiring());
            return why != null ? why : BundleDiagnosis.reason(e);
        }
    }

    /** Resolves a bundle that is not to run: {@code null} if it resolves (or is a fragment), else why not, in words. */
    private String whyNotResolved(Bundle bundle) {
        if (isFragment(bundle) || wiring().resolveBundles(List.of(bundle))) {
            return null;
        }
        String why = BundleDiagnosis.explain(bundle, wiring());
        return why != null ? why : "it does not resolve";
    }

    /**
     * Updates {@code bundle} to {@code jar}, or records the update to wait while running jobs pin
     * the bundle or a bundle wired to it (then {@link BundlePins#updatePending} is called once, and the update is applied by
     * {@link #applyWaiting()} when the last holder lets go). If the new revision would not run (it
     * does not resolve, or does not start) and the host holds the jar of the revision before, the
     * bundle goes back to that revision (docs/DESIGN.md, "Back to the last good revision").
     *
     * @param jar the new revision, or {@code null} to reload the bundle from its location
     * @param now apply it even if jobs hold the bundle (a forced update, the holders already evicted)
     * @return {@code null} if it was applied and the bundle runs (or was stopped before), else why
     *     it does not start, or {@code ""} if the update waits
     * @throws RevisionRefused if the new revision would not run and the bundle runs its last good one again
     */
    String update(Bundle bundle, BundleJar jar, boolean now) throws BundleException {
        long id = bundle.getBundleId();
        if (!now && !holds.holders(bundle).isEmpty()) {
            Waiting before = waiting.get(id);
            if (before == null || before.removal()) {
                holds.updatePending(bundle, (jar == null ? bundle.getVersion() : jar.version()).toString());
            }
            waiting.put(id, new Waiting(false, jar));
            return "";
        }
        boolean wanted = persistentlyStarted(bundle);
        // The revision to go back to: the one that ran until now, if the host holds its bytes.
        boolean ran = bundle.getState() == (wanted ? Bundle.ACTIVE : Bundle.RESOLVED);
        BundleJar before = jar == null || !ran ? null : lastGood.get(id);
        boolean wasFragment = isFragment(bundle);
        BundleRevision revision = bundle.adapt(BundleRevision.class);
        try {
            if (jar == null) {
                bundle.update();
            } else {
                bundle.update(new ByteArrayInputStream(jar.bytes()));
            }
        } catch (BundleException e) {
            if (bundle.adapt(BundleRevision.class) == revision) {
                throw e; // refused before the revision changed (a manifest the framework does not take): the old one runs
            }
            // The framework took the new revision, then failed to start it again: as below.
        }
        refresh();
        // A stopped bundle stays stopped, resolved as before rather than left INSTALLED.
        String why = !wasFragment && isFragment(bundle)
                ? "it has a Fragment-Host header: a fragment does not run on its own, it joins the bundle it names"
                : wanted ? whyNotStarted(bundle) : whyNotResolved(bundle);
        // Only now: a waiting update shows as pending until the bundle is in its new state.
        waiting.remove(id);
        if (why == null || before == null) {
            if (jar == null) {
                lastGood.remove(id);
            } else {
                lastGood.put(id, jar);
            }
            return why == null || !wanted ? null : notStarted(bundle, why);
        }
        bundle.update(new ByteArrayInputStream(before.bytes()));
        refresh();
        String back = wanted ? start(bundle) : whyNotResolved(bundle);
        throw new RevisionRefused(jar + " would not run (" + why + "), so the bundle went back to " + before
                + (back == null ? "" : ", which does not run either: " + back));
    }

    /**
     * Uninstalls {@code bundle}, or records the removal to wait while running jobs pin it.
     *
     * @param now remove it even if jobs hold it (a forced removal, the holders already evicted)
     * @return whether it was removed ({@code false}: it waits)
     */
    boolean uninstall(Bundle bundle, boolean now) throws BundleException {
        long id = bundle.getBundleId();
        if (!now && !holds.holders(bundle).isEmpty()) {
            waiting.put(id, new Waiting(true, null));
            return false;
        }
        bundle.uninstall();
        refresh();
        waiting.remove(id);
        lastGood.remove(id);
        return true;
    }

    /**
     * Applies every waiting change whose bundle no job holds any more. A failure concerns that bundle
     * alone: it becomes the bundle's problem and the others are still applied.
     */
    void applyWaiting() {
        for (Map.Entry<Long, Waiting> entry : List.copyOf(waiting.entrySet())) {
            long id = entry.getKey();
            Bundle bundle = context.getBundle(id);
            if (bundle == null) {
                waiting.remove(id);
                continue;
            }
            String cause = bundleCause(id) + "waiting";
            try {
                if (!holds.holders(bundle).isEmpty()) {
                    continue;
                }
                if (entry.getValue().removal()) {
                    uninstall(bundle, true);
                } else {
                    update(bundle, entry.getValue().jar(), true);
                }
                problems.clear(cause);
            } catch (BundleException | RuntimeException e) {
                // A refused revision is not tried again: the bundle runs its last good one.
                problems.report(cause, FrameworkBundleAdmin.describe(bundle), "the waiting "
                        + entry.getValue().describe() + " of " + FrameworkBundleAdmin.describe(bundle)
                        + " failed: " + BundleDiagnosis.reason(e) + (e instanceof RevisionRefused ? "" : "; it is tried again"));
            }
        }
    }

    /**
     * Starts again the bundles among {@code candidates} that should run but do not (a bundle whose
     * imports another bundle, installed since, now provides). Stopped bundles stay stopped.
     */
    void retryStarts(Predicate<Bundle> candidates) {
        for (Bundle bundle : context.getBundles()) {
            int state = bundle.getState();
            if ((state == Bundle.INSTALLED || state == Bundle.RESOLVED) && candidates.test(bundle)
                    && persistentlyStarted(bundle)) {
                start(bundle);
            }
        }
    }

    /** What waits for the jobs holding {@code bundleId}, for a person, or {@code null}. */
    String pending(long bundleId) {
        Waiting change = waiting.get(bundleId);
        if (change == null) {
            return null;
        }
        List<String> holders = holders(bundleId);
        return change.describe() + " waits for " + (holders.isEmpty() ? "the jobs using it to let go" : String.join(", ", holders));
    }

    /** The jobs holding {@code bundleId}; empty if the job service cannot say (for display only). */
    List<String> holders(long bundleId) {
        Bundle bundle = context.getBundle(bundleId);
        try {
            return bundle == null ? List.of() : holds.holders(bundle);
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    /** The running jobs' hold on bundles, wiring included. */
    JobHolds holds() {
        return holds;
    }

    /**
     * Lets the framework drop the old revisions of updated and uninstalled bundles and rewire their
     * dependents, and waits for it (the framework does it on a thread of its own).
     */
    private void refresh() {
        FrameworkWiring wiring = wiring();
        if (wiring.getRemovalPendingBundles().isEmpty()) {
            return;
        }
        CountDownLatch done = new CountDownLatch(1);
        wiring.refreshBundles(null, event -> {
            if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                done.countDown();
            }
        });
        try {
            done.await(REFRESH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    FrameworkWiring wiring() {
        return context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION).adapt(FrameworkWiring.class);
    }

    private static boolean persistentlyStarted(Bundle bundle) {
        BundleStartLevel level = bundle.adapt(BundleStartLevel.class);
        return level != null && level.isPersistentlyStarted();
    }

    static boolean isFragment(Bundle bundle) {
        return bundle.getHeaders("").get(Constants.FRAGMENT_HOST) != null;
    }
}
