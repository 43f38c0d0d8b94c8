package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.runtime.BundleInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Hot-swapping the technique bundle of a running job")
class JobHotSwapTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    static Path dir;

    @BeforeAll
    static void data() throws Exception {
        TinyJob.write(dir);
    }

    /**
     * A job with the sample tuner (each test deploys its own bundle of it, and removes it at the end),
     * long enough to still run while the test acts on it.
     */
    private static JobInfo submit(String output, String onUpdate) {
        return submit(output, onUpdate, "tuner: {name: sample, config: {trainable: \"model\\\\.norm.*\"}}");
    }

    private static JobInfo submit(String output, String onUpdate, String tuner) {
        String yaml = TinyJob.yaml(100_000, output).replace("tuner: {name: full, version: \"[1.0,2.0)\"}", tuner)
                + "onUpdate: " + onUpdate + "\n";
        var jobs = HOST.host().jobs();
        return jobs.submit(jobs.read(yaml, "job.yaml"), SubmitOptions.in(dir.toString()));
    }

    private static JobInfo job(String id) {
        return HOST.host().jobs().job(id).orElseThrow();
    }

    private static void awaitSteps(String id, int steps) throws InterruptedException {
        await("job " + id + " trains " + steps + " steps", 60, () -> {
            JobInfo job = job(id);
            if (job.state().finished()) {
                throw new AssertionError("job " + id + " ended " + job.state() + ": " + job.message());
            }
            return job.step() >= steps;
        });
    }

    /** Deploys sample 1.0.0 as {@code bsn} and waits until its tuner is registered (DS registers it after the start). */
    private static Path deploySample(String bsn) throws Exception {
        Path file = HOST.deploySample(bsn);
        await("the sample tuner of " + bsn + " is registered", 20, () -> HOST.host().catalog().techniques().stream()
                .anyMatch(t -> t.name().equals("sample") && t.bundleSymbolicName().equals(bsn)));
        return file;
    }

    @Test
    @DisplayName("keep: the update waits until the job ends; the job keeps the revision it started with")
    void keepsItsRevision() throws Exception {
        String bsn = TestBundles.SAMPLE + ".swap.keep";
        Path file = deploySample(bsn);
        JobInfo job = submit("keep", "keep");
        awaitSteps(job.id(), 3);
        long bundle = HOST.bundle(bsn).orElseThrow().id();
        assertThat(HOST.bundle(bsn).orElseThrow().usedBy()).containsExactly("job " + job.id() + " (tiny)");

        HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "1.1.0"));
        await("the update waits for the job", 20, () -> HOST.bundle(bsn).map(BundleInfo::pending).isPresent());
        long step = job(job.id()).step();
        awaitSteps(job.id(), (int) step + 5);
        assertThat(job(job.id()).state()).as("the job goes on").isEqualTo(JobState.RUNNING);
        assertThat(job(job.id()).techniques().getFirst().version()).isEqualTo("1.0.0");
        assertThat(HOST.bundle(bsn).orElseThrow().version()).isEqualTo("1.0.0");

        HOST.host().jobs().cancel(job.id());
        await("the job stops", 30, () -> job(job.id()).state() == JobState.CANCELLED);
        await("then the update applies", 20, () -> HOST.running(bsn, "1.1.0"));
        assertThat(HOST.bundle(bsn).orElseThrow().id()).isEqualTo(bundle);
        HOST.undeploy(file, bsn);
    }

    @Test
    @DisplayName("rewire: the job checkpoints, the update applies, the job resumes on the new revision; provenance has both")
    void rewiresToTheNewRevision() throws Exception {
        String bsn = TestBundles.SAMPLE + ".swap.rewire";
        Path file = deploySample(bsn);
        JobInfo job = submit("rewire", "rewire");
        awaitSteps(job.id(), 3);

        HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "1.1.0"));
        await("the job resumes on 1.1.0", 60, () -> job(job.id()).techniques().getFirst().version().equals("1.1.0")
                && job(job.id()).state() == JobState.RUNNING);
        assertThat(HOST.running(bsn, "1.1.0")).isTrue();
        long step = job(job.id()).step();
        awaitSteps(job.id(), (int) step + 3);

        JsonNode provenance = RunningHost.JSON.readTree(dir.resolve("rewire/provenance.json").toFile());
        assertThat(provenance.get("runs").findValuesAsText("tuner")).containsExactly("sample 1.0.0", "sample 1.1.0");
        assertThat(provenance.get("runs").get(1).get("from_step").asInt()).isPositive();
        HOST.host().jobs().cancel(job.id());
        await("the job stops", 30, () -> job(job.id()).state() == JobState.CANCELLED);
        HOST.undeploy(file, bsn);
    }

    @Test
    @DisplayName("rewire follows only versions in the job's range: 2.0.0 for [1.0,2.0) waits for the job like keep")
    void rewireStaysInRange() throws Exception {
        String bsn = TestBundles.SAMPLE + ".swap.range";
        Path file = deploySample(bsn);
        JobInfo job = submit("range", "rewire",
                "tuner: {name: sample, version: \"[1.0,2.0)\", config: {trainable: \"model\\\\.norm.*\"}}");
        awaitSteps(job.id(), 3);

        HOST.deploy(bsn + ".jar", TestBundles.sample(bsn, "2.0.0"));
        await("the update waits for the job", 20, () -> HOST.bundle(bsn).map(BundleInfo::pending).isPresent());
        long step = job(job.id()).step();
        awaitSteps(job.id(), (int) step + 5);
        assertThat(HOST.bundle(bsn).orElseThrow().version()).isEqualTo("1.0.0");
        assertThat(job(job.id()).state()).isEqualTo(JobState.RUNNING);

        HOST.host().jobs().cancel(job.id());
        await("the job stops", 30, () -> job(job.id()).state() == JobState.CANCELLED);
        await("then the update applies", 20, () -> HOST.running(bsn, "2.0.0"));
        HOST.undeploy(file, bsn);
    }

    @Test
    @DisplayName("a bundle wired to a job's technique is held too: lora, which qlora imports, cannot be stopped under a QLoRA job")
    void wiredBundlesAreHeld() throws Exception {
        JobInfo job = submit("qlora", "keep", "tuner: {name: qlora, config: {lora: {r: 2, targetModules: [q_proj]}}}");
        awaitSteps(job.id(), 2);
        long lora = HOST.bundle("io.gradus.plugin.lora").orElseThrow().id();

        var refused = HOST.send("POST", "/api/bundles/" + lora + "/stop", new byte[0], HOST.token());
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.json().get("error").asText()).contains("job " + job.id());
        assertThat(HOST.bundle("io.gradus.plugin.lora").orElseThrow().usedBy()).containsExactly("job " + job.id() + " (tiny)");

        HOST.host().jobs().cancel(job.id());
        await("the job stops", 30, () -> job(job.id()).state() == JobState.CANCELLED);
    }

    @Test
    @DisplayName("stopping a bundle a job uses is refused naming the job; forced, the job checkpoints and is interrupted")
    void stopRefusedThenForced() throws Exception {
        String bsn = TestBundles.SAMPLE + ".swap.stop";
        Path file = deploySample(bsn);
        JobInfo job = submit("stop", "keep");
        awaitSteps(job.id(), 3);
        long bundle = HOST.bundle(bsn).orElseThrow().id();

        var refused = HOST.send("POST", "/api/bundles/" + bundle + "/stop", new byte[0], HOST.token());
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.json().get("error").asText()).contains("job " + job.id() + " (tiny)");
        assertThat(job(job.id()).state()).isEqualTo(JobState.RUNNING);

        var forced = HOST.send("POST", "/api/bundles/" + bundle + "/stop?force=true", new byte[0], HOST.token());
        assertThat(forced.status()).as(forced.json().toString()).isEqualTo(200);
        JobInfo interrupted = job(job.id());
        assertThat(interrupted.state()).isEqualTo(JobState.INTERRUPTED);
        assertThat(interrupted.message()).contains("stopped or removed by force");
        assertThat(dir.resolve("stop/checkpoint/trainer_state.json")).content(StandardCharsets.UTF_8)
                .contains("\"step\" : " + interrupted.step());
        assertThat(HOST.bundle(bsn).orElseThrow().state()).isEqualTo("RESOLVED");
        HOST.undeploy(file, bsn);
    }
}
