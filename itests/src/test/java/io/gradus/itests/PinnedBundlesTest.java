package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.event.Problem;
import io.gradus.api.runtime.BundleInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("A bundle that a running job pins is not changed under the job")
class PinnedBundlesTest {

    static final FakePins PINS = new FakePins();

    @RegisterExtension
    static final RunningHost HOST = new RunningHost(PINS);

    private static final String JOB = "job 7 (test-run)";

    @Test
    @DisplayName("a new jar in the deploy folder waits for the job, the bundle says so, the job is told once; released, the update applies")
    void folderUpdateWaitsForTheJob() throws Exception {
        String bsn = TestBundles.SAMPLE + ".pinned.folder";
        Path file = HOST.deploySample(bsn);
        long id = HOST.bundle(bsn).orElseThrow().id();
        PINS.hold(id, JOB);

        HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "1.1.0"));
        await("the update waits", 20, () -> HOST.bundle(bsn).map(BundleInfo::pending).isPresent());
        Thread.sleep(3 * 500); // several polls
        BundleInfo waiting = HOST.bundle(bsn).orElseThrow();
        assertThat(waiting.version()).as("the job keeps its revision").isEqualTo("1.0.0");
        assertThat(waiting.state()).isEqualTo("ACTIVE");
        assertThat(waiting.pending()).isEqualTo("update to 1.1.0 waits for " + JOB);
        assertThat(waiting.usedBy()).containsExactly(JOB);
        assertThat(PINS.updatesPending(id)).as("the holders are told once").isEqualTo(1);
        var json = HOST.send("GET", "/api/bundles/" + id, null, null).json();
        assertThat(json.get("pending").asText()).contains("1.1.0", JOB);
        assertThat(json.get("usedBy").get(0).asText()).isEqualTo(JOB);

        HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "1.2.0"));
        await("the newer jar waits instead", 20, () -> HOST.bundle(bsn).map(BundleInfo::pending)
                .filter(p -> p.startsWith("update to 1.2.0")).isPresent());
        assertThat(PINS.updatesPending(id)).as("still told once").isEqualTo(1);

        PINS.release(id);
        // The bundle runs 1.2.0 a moment before the host clears what waited: wait for both.
        await("released, 1.2.0 runs and nothing waits", 20,
                () -> HOST.running(bsn, "1.2.0") && HOST.bundle(bsn).orElseThrow().pending() == null);
        assertThat(HOST.bundle(bsn).orElseThrow().id()).isEqualTo(id);

        HOST.undeploy(file, bsn);
    }

    @Test
    @DisplayName("stop and remove are refused with 409 naming the job; forced, the job is evicted first; an update through the API answers 202 and waits")
    void apiOperationsOnAPinnedBundle() throws Exception {
        String bsn = TestBundles.SAMPLE + ".pinned.api";
        RunningHost.Response installed = HOST.send("POST", "/api/bundles", TestBundles.sample(bsn, "1.0.0"), HOST.token());
        long id = installed.json().get("id").asLong();
        PINS.hold(id, JOB);

        for (var refused : new RunningHost.Response[] {
                HOST.send("POST", "/api/bundles/" + id + "/stop", null, HOST.token()),
                HOST.send("DELETE", "/api/bundles/" + id, null, HOST.token())}) {
            assertThat(refused.status()).isEqualTo(409);
            assertThat(refused.json().get("error").asText()).contains(bsn, "is used by " + JOB, "force");
        }
        assertThat(HOST.running(bsn, "1.0.0")).isTrue();

        RunningHost.Response accepted = HOST.send("POST", "/api/bundles/" + id + "/update", TestBundles.sample(bsn, "1.1.0"), HOST.token());
        assertThat(accepted.status()).as(accepted.json().toString()).isEqualTo(202);
        assertThat(accepted.json().get("version").asText()).isEqualTo("1.0.0");
        assertThat(accepted.json().get("pending").asText()).isEqualTo("update to 1.1.0 waits for " + JOB);
        assertThat(HOST.deployDir().resolve(bsn + ".jar")).as("the folder already holds the new jar").exists();
        Thread.sleep(2 * 500);
        assertThat(HOST.running(bsn, "1.0.0")).isTrue();

        RunningHost.Response forced = HOST.send("POST", "/api/bundles/" + id + "/stop?force=true", null, HOST.token());
        assertThat(forced.status()).as(forced.json().toString()).isEqualTo(200);
        assertThat(PINS.evicted()).contains(id);
        assertThat(forced.json().get("state").asText()).isEqualTo("RESOLVED");
        await("with the job gone, the waiting update applies", 20,
                () -> HOST.bundle(bsn).filter(b -> b.version().equals("1.1.0") && b.pending() == null).isPresent());
        assertThat(HOST.bundle(bsn).orElseThrow().state()).as("and the bundle stays stopped").isEqualTo("RESOLVED");

        PINS.hold(id, JOB);
        RunningHost.Response forcedUpdate = HOST.send("POST", "/api/bundles/" + id + "/update?force=true",
                TestBundles.sample(bsn, "1.2.0"), HOST.token());
        assertThat(forcedUpdate.status()).isEqualTo(200);
        assertThat(forcedUpdate.json().get("version").asText()).isEqualTo("1.2.0");

        PINS.hold(id, JOB);
        assertThat(HOST.send("DELETE", "/api/bundles/" + id + "?force=true", null, HOST.token()).status()).isEqualTo(200);
        assertThat(HOST.bundle(bsn)).isEmpty();
        assertThat(HOST.deployDir().resolve(bsn + ".jar")).doesNotExist();
    }

    @Test
    @DisplayName("a deleted jar of a pinned bundle waits for the job; released, the bundle goes")
    void deletionWaitsForTheJob() throws Exception {
        String bsn = TestBundles.SAMPLE + ".pinned.delete";
        Path file = HOST.deploySample(bsn);
        long id = HOST.bundle(bsn).orElseThrow().id();
        PINS.hold(id, JOB);

        Files.delete(file);
        await("the removal waits", 20, () -> HOST.bundle(bsn).map(BundleInfo::pending).filter(p -> p.equals("removal waits for " + JOB)).isPresent());
        Thread.sleep(2 * 500);
        assertThat(HOST.running(bsn, "1.0.0")).isTrue();
        assertThat(PINS.updatesPending(id)).as("no new revision to move to: the jobs are not told to let go").isZero();

        PINS.release(id);
        await("released, the bundle goes", 20, () -> HOST.bundle(bsn).isEmpty());
    }

    @Test
    @DisplayName("the watcher survives an exception (here from the job service) and goes on: the file is tried again, later files are deployed")
    void watcherSurvivesAnException() throws Exception {
        String bsn = TestBundles.SAMPLE + ".pinned.failure";
        Path file = HOST.deploySample(bsn);

        PINS.failNextCall(new IllegalStateException("the job service is not answering"));
        HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "1.1.0"));
        await("the next poll tries again and updates", 20, () -> HOST.running(bsn, "1.1.0"));
        assertThat(problemEvents(file.toString())).as("the failure was a problem naming the file")
                .anyMatch(m -> m.contains("the job service is not answering") && m.contains("tried again"));
        assertThat(HOST.host().problems()).as("and is gone once the file is deployed")
                .noneMatch(p -> p.message().contains(file.toString()));

        PINS.failNextCall(new IllegalStateException("the job service is not answering"));
        Files.delete(file);
        await("a failed removal is tried again too", 20, () -> HOST.bundle(bsn).isEmpty());
        assertThat(problemEvents("cannot uninstall " + bsn)).anyMatch(m -> m.contains("the job service is not answering"));
        // The bundle goes first, then the problem its removal left (same operation, a moment later).
        await("the removal's problem is cleared", 10,
                () -> HOST.host().problems().stream().noneMatch(p -> p.message().contains(bsn)));

        String later = TestBundles.SAMPLE + ".pinned.later";
        Path laterFile = HOST.deploy(later + ".jar", TestBundles.sample(later, "1.0.0"));
        await("a later file is deployed", 20, () -> HOST.running(later, "1.0.0"));
        HOST.undeploy(laterFile, later);
    }

    private static java.util.List<String> problemEvents(String containing) {
        return HOST.events().stream()
                .filter(Problem.class::isInstance)
                .map(e -> ((Problem) e).message())
                .filter(m -> m.contains(containing))
                .toList();
    }
}
