package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.jobs.faulty.FaultyObjective;
import io.gradus.jobs.faulty.FaultyTuner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Faulty techniques fail their own job, named by bundle and version; the service goes on")
class TechniqueFaultsTest {

    @TempDir
    Path dir;

    private TinyWorld world;
    private TechniqueCatalog catalog;

    @BeforeEach
    void world() throws Exception {
        world = new TinyWorld(dir);
        catalog = TinyWorld.catalog(List.of(
                found("throws", TechniqueFamily.TUNER, "1.2.0", new FaultyTuner("throws")),
                found("hangs", TechniqueFamily.TUNER, "2.0.1", new FaultyTuner("hangs")),
                found("breaks", TechniqueFamily.OBJECTIVE, "0.3.0", new FaultyObjective())));
    }

    private static TechniqueCatalog.Found<?> found(String name, TechniqueFamily family, String version, Object technique) {
        return new TechniqueCatalog.Found<>(new TechniqueDescriptor(name, family, version, name, 40,
                "com.example.faulty." + name), technique);
    }

    private JobInfo submit(HostJobService jobs, String tuner, String objective, String output) {
        String text = world.job(4, output).replace("name: full", "name: " + tuner).replace("name: pretrain", "name: " + objective);
        return jobs.submit(jobs.read(text, "job.yaml"), SubmitOptions.in(dir.toString()));
    }

    @Test
    @DisplayName("a tuner that throws from apply, and an objective that throws from step, fail their jobs naming bundle and version")
    void throwingTechniques() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), catalog, 1, Duration.ofSeconds(30))) {
            JobInfo apply = TinyWorld.awaitEnd(jobs, submit(jobs, "throws", "pretrain", "a").id());
            JobInfo step = TinyWorld.awaitEnd(jobs, submit(jobs, "full", "breaks", "b").id());
            JobInfo fine = TinyWorld.awaitEnd(jobs, submit(jobs, "full", "pretrain", "c").id());

            assertThat(apply.state()).isEqualTo(JobState.FAILED);
            assertThat(apply.message()).isEqualTo("tuner 'throws' 1.2.0 (bundle com.example.faulty.throws) failed: "
                    + "the faulty tuner's apply broke");
            assertThat(step.state()).isEqualTo(JobState.FAILED);
            assertThat(step.message()).isEqualTo("objective 'breaks' 0.3.0 (bundle com.example.faulty.breaks) failed: "
                    + "the faulty objective's step broke");
            assertThat(step.step()).as("two good steps before the fault").isEqualTo(2);
            assertThat(fine.state()).as(fine.message()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    @DisplayName("a tuner that never returns from apply fails its job after the timeout; a job beside it trains, and the worker is free again")
    void hangingApply() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), catalog, 2, Duration.ofSeconds(2))) {
            String hung = submit(jobs, "hangs", "pretrain", "hung").id();
            JobInfo beside = TinyWorld.awaitEnd(jobs, submit(jobs, "full", "pretrain", "beside").id());
            JobInfo failed = TinyWorld.awaitEnd(jobs, hung);
            JobInfo after = TinyWorld.awaitEnd(jobs, submit(jobs, "full", "pretrain", "after").id());

            assertThat(beside.state()).as(beside.message()).isEqualTo(JobState.SUCCEEDED);
            assertThat(failed.state()).isEqualTo(JobState.FAILED);
            assertThat(failed.message()).startsWith("tuner 'hangs' 2.0.1 (bundle com.example.faulty.hangs) did not return"
                    + " from apply within 2 s");
            assertThat(after.state()).as(after.message()).isEqualTo(JobState.SUCCEEDED);
        }
    }
}
