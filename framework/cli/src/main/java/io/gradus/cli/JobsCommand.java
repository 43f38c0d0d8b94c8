package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradus.api.job.JobInfo;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gradus jobs}: the jobs of the running host: list, follow, cancel, resume, steer. */
@Command(
        name = "jobs",
        mixinStandardHelpOptions = true,
        description = "List the jobs of the running host (gradus start), or follow, cancel, resume or steer one.",
        subcommands = {JobsCommand.Follow.class, JobsCommand.Cancel.class, JobsCommand.Resume.class, JobsCommand.Steer.class})
final class JobsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try (RemoteJobs jobs = running(spec)) {
            List<JobInfo> all = jobs.jobs();
            PrintWriter out = spec.commandLine().getOut();
            if (all.isEmpty()) {
                out.println("no jobs yet; submit one with gradus train JOB");
            } else {
                out.printf("%-4s %-12s %-11s %-8s %s%n", "ID", "STATE", "STEP", "LOSS", "NAME (OUTPUT)");
                for (JobInfo job : all) {
                    out.printf(Locale.ROOT, "%-4s %-12s %-11s %-8s %s (%s)%n", job.id(), job.state().name().toLowerCase(Locale.ROOT),
                            job.step() + "/" + job.totalSteps(), job.loss() == null ? "-" : String.format(Locale.ROOT, "%.4f", job.loss()),
                            job.name(), job.output());
                }
            }
            out.flush();
            return 0;
        }
    }

    /** The running host's jobs; an error saying how to start one when there is none. */
    static RemoteJobs running(CommandSpec spec) {
        var state = Distribution.settings().stateDir();
        return new RemoteJobs(HostConnection.find(state).orElseThrow(() -> new ParameterException(spec.commandLine(),
                "no Gradus host is running on " + state + "; start one with 'gradus start' (jobs that 'gradus train' "
                        + "runs without a host end with their command)")));
    }

    @Command(name = "follow", mixinStandardHelpOptions = true, description = "Follow a job's progress until it stops (Ctrl-C detaches).")
    static final class Follow implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ID", description = "The job's id (gradus jobs lists them).")
        String id;

        @Override
        public Integer call() throws Exception {
            try (RemoteJobs jobs = running(spec); InterruptHook interrupt = InterruptHook.install(jobs, spec.commandLine().getErr())) {
                JobFollower follower = new JobFollower(jobs, spec.commandLine().getOut());
                return follower.report(follower.follow(id), spec.commandLine().getErr(), "jobs follow");
            }
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a job (a running one writes a checkpoint first).")
    static final class Cancel implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ID", description = "The job's id.")
        String id;

        @Override
        public Integer call() throws Exception {
            try (RemoteJobs jobs = running(spec)) {
                JobInfo job = jobs.cancel(id);
                spec.commandLine().getOut().println("job " + job.id() + ": " + job.message());
                return 0;
            }
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Queue a cancelled, interrupted or failed job again; it continues from its last checkpoint.")
    static final class Resume implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ID", description = "The job's id.")
        String id;

        @Option(names = "--follow", description = "Follow it until it stops.")
        boolean follow;

        @Override
        public Integer call() throws Exception {
            try (RemoteJobs jobs = running(spec)) {
                if (!follow) {
                    JobInfo job = jobs.resume(id);
                    spec.commandLine().getOut().println("job " + job.id() + ": " + job.message());
                    return 0;
                }
                try (InterruptHook interrupt = InterruptHook.install(jobs, spec.commandLine().getErr())) {
                    JobFollower follower = new JobFollower(jobs, spec.commandLine().getOut());
                    // Subscribed before resuming: the run's first messages come at once.
                    JobInfo done = follower.startAndFollow(() -> jobs.resume(id), job -> "job " + job.id() + ": " + job.message());
                    return follower.report(done, spec.commandLine().getErr(), "jobs resume");
                }
            }
        }
    }

    @Command(name = "steer", mixinStandardHelpOptions = true,
            description = {"Change a running job's settings from its next step on, e.g. learningRate=1e-4,",
                "learningRateScale=0.5, or an objective's live setting as objective.beta=0.2."})
    static final class Steer implements Callable<Integer> {
        private static final ObjectMapper JSON = new ObjectMapper();

        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "ID", description = "The job's id.")
        String id;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "NAME=VALUE", description = "Settings to change (values in JSON).")
        List<String> settings;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> changes = new LinkedHashMap<>();
            Map<String, Object> objective = new LinkedHashMap<>();
            for (String setting : settings) {
                int eq = setting.indexOf('=');
                if (eq <= 0) {
                    throw new ParameterException(spec.commandLine(), "'" + setting + "' is not NAME=VALUE");
                }
                String name = setting.substring(0, eq);
                Object value = value(setting.substring(eq + 1));
                if (name.startsWith("objective.")) {
                    objective.put(name.substring("objective.".length()), value);
                } else {
                    changes.put(name, value);
                }
            }
            if (!objective.isEmpty()) {
                changes.put("objective", objective);
            }
            try (RemoteJobs jobs = running(spec)) {
                JobInfo job = jobs.steer(id, changes);
                spec.commandLine().getOut().println("job " + job.id() + ": " + changes + " from its next step");
                return 0;
            }
        }

        /** A value in JSON (numbers, true/false, quoted strings), or else the text as it is. */
        private static Object value(String text) {
            try {
                return JSON.readValue(text, Object.class);
            } catch (java.io.IOException e) {
                return text;
            }
        }
    }
}
