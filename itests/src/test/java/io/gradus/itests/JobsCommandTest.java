package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradus.api.event.JobSteered;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus jobs, as the README shows it, against the running host")
class JobsCommandTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    static Path dir;

    private static String previousState;

    @BeforeAll
    static void pointTheCommandLineAtTheHost() throws Exception {
        TinyJob.write(dir);
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        previousState = System.getProperty("gradus.state");
        System.setProperty("gradus.state", HOST.host().settings().stateDir().toString());
    }

    @AfterAll
    static void restore() {
        if (previousState == null) {
            System.clearProperty("gradus.state");
        } else {
            System.setProperty("gradus.state", previousState);
        }
    }

    private record Run(int exit, String out, String err) {}

    private static Run gradus(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** README's {@code ./gradus jobs ...} line that starts with {@code prefix}, its job id 3 being {@code id}. */
    private static Run readme(String prefix, String id) throws Exception {
        return gradus(ReadmeCommands.gradus(prefix, Map.of("3", id), false));
    }

    @Test
    @DisplayName("README's lines: jobs lists; jobs steer, cancel and resume --follow act on a running job; jobs follow"
            + " follows one; the subcommands README names exist")
    void listSteerCancelResume() throws Exception {
        var jobs = HOST.host().jobs();
        JobInfo job = jobs.submit(jobs.read(TinyJob.yaml(400, "steered"), "job.yaml"), SubmitOptions.in(dir.toString()));
        await("the job trains", 60, () -> jobs.job(job.id()).orElseThrow().step() >= 2);

        Run list = readme("./gradus jobs ", job.id());
        assertThat(list.exit()).as(list.err()).isZero();
        assertThat(list.out()).contains("ID", "STATE").containsPattern("(?m)^" + job.id() + " +running +\\d+/400");

        Run steer = readme("./gradus jobs steer ", job.id());
        assertThat(steer.exit()).as(steer.err()).isZero();
        await("the change is applied at the next step", 30, () -> HOST.events().stream()
                .anyMatch(e -> e instanceof JobSteered s && s.jobId().equals(job.id())));

        Run cancel = readme("./gradus jobs cancel ", job.id());
        assertThat(cancel.exit()).as(cancel.err()).isZero();
        await("the job stops", 30, () -> jobs.job(job.id()).orElseThrow().state() == JobState.CANCELLED);
        long stopped = jobs.job(job.id()).orElseThrow().step();

        Run resume = readme("./gradus jobs resume ", job.id());
        assertThat(resume.exit()).as(resume.out() + resume.err()).isZero();
        assertThat(resume.out()).contains("resumed from", "at step " + stopped, "done: 400 steps");
        JobInfo done = jobs.job(job.id()).orElseThrow();
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(jobs.history(job.id()).metrics()).filteredOn(m -> m.containsKey("learningRate")).hasSize(400)
                .last().satisfies(m -> assertThat(((Number) m.get("learningRate")).doubleValue()).isLessThan(1e-4));

        // "jobs follow|cancel|resume|steer ID", README's comment on ./gradus jobs: each exists; follow of
        // a finished job reports how it ended.
        String named = ReadmeCommands.line("./gradus jobs ").replaceFirst(".*jobs ([a-z|]+) ID.*", "$1");
        assertThat(Gradus.commandLine().getSubcommands().get("jobs").getSubcommands().keySet())
                .containsAll(List.of(named.split("\\|"))).contains("follow");
        Run follow = gradus("jobs", "follow", job.id());
        assertThat(follow.exit()).as(follow.err()).isZero();
        assertThat(follow.out()).contains("done: 400 steps");
    }

    @Test
    @DisplayName("jobs steer ID objective.beta=... changes β of a running DPO job from its next step")
    void betaIsSteeredFromTheCommandLine() throws Exception {
        // The reference log-probabilities come with the pairs and nothing trains (a rate of 0): only β moves the rewards.
        Files.writeString(dir.resolve("pairs.jsonl"), """
                {"prompt": "the cat", "chosen": " sat on a mat.", "rejected": " ran.", "ref_chosen_logps": -60.0, "ref_rejected_logps": -20.0}
                {"prompt": "the dog", "chosen": " ran to the park.", "rejected": " sat.", "ref_chosen_logps": -70.0, "ref_rejected_logps": -25.0}
                """);
        Files.writeString(dir.resolve("dpo.yaml"), """
                name: steered-dpo
                model: base
                tuner: {name: lora, config: {r: 4}}
                objective: {name: dpo, config: {beta: 0.1}}
                data: {train: pairs.jsonl}
                hyper: {steps: 400, batchSize: 2, seqLen: 32, learningRate: 0.0, schedule: constant, warmupSteps: 0}
                output: steered-dpo
                """);
        var jobs = HOST.host().jobs();
        JobInfo job = jobs.submit(jobs.read(Files.readString(dir.resolve("dpo.yaml")), "dpo.yaml"),
                SubmitOptions.in(dir.toString()));
        await("the job trains", 60, () -> jobs.job(job.id()).orElseThrow().step() >= 2);

        String[] steer = ReadmeCommands.inFolder("objective.beta=0.2", dir);
        steer[2] = job.id();
        Run run = gradus(steer);
        assertThat(run.exit()).as(run.err()).isZero();
        await("the change is applied at the next step", 30, () -> HOST.events().stream()
                .anyMatch(e -> e instanceof JobSteered s && s.jobId().equals(job.id())));
        long steeredAt = HOST.events().stream().filter(e -> e instanceof JobSteered s && s.jobId().equals(job.id()))
                .mapToLong(e -> ((JobSteered) e).step()).findFirst().orElseThrow();
        await("a step after the change", 30, () -> jobs.job(job.id()).orElseThrow().step() >= steeredAt + 1);
        assertThat(gradus("jobs", "cancel", job.id()).exit()).isZero();
        await("the job stops", 30, () -> jobs.job(job.id()).orElseThrow().state() == JobState.CANCELLED);

        List<Double> chosen = new ArrayList<>();
        List<Long> steps = new ArrayList<>();
        for (Map<String, Object> line : jobs.history(job.id()).metrics()) {
            if (line.get("metrics") instanceof Map<?, ?> metrics) {
                chosen.add(((Number) metrics.get("rewards/chosen")).doubleValue());
                steps.add(((Number) line.get("step")).longValue());
            }
        }
        for (int i = 0; i < chosen.size(); i++) {
            double factor = steps.get(i) >= steeredAt ? 2 : 1;
            assertThat(chosen.get(i)).as("step %d", steps.get(i)).isCloseTo(factor * chosen.getFirst(),
                    within(1e-9 * Math.abs(chosen.getFirst())));
        }
        assertThat(steps.getLast()).isGreaterThanOrEqualTo(steeredAt);
    }
    @Test
    @DisplayName("without a running host, gradus jobs says how to start one")
    void noHost() {
        System.setProperty("gradus.state", dir.resolve("no-host").toString());
        try {
            Run run = gradus("jobs");
            assertThat(run.exit()).isNotZero();
            assertThat(run.err()).contains("no Gradus host is running", "gradus start").doesNotContain("Usage:");
        } finally {
            System.setProperty("gradus.state", HOST.host().settings().stateDir().toString());
        }
    }
}
