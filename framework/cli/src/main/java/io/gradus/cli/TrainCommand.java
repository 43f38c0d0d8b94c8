package io.gradus.cli;

import io.gradus.api.job.SubmitOptions;
import io.gradus.jobs.JobFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code gradus train JOB}: runs a training job described by a JSON or YAML file, on the running
 * host when {@code gradus start} runs one (the job then shows in its console, and Ctrl-C only
 * detaches), else on a host embedded in this command.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Train as a job file says: base model, tuner, objective, data, hyper-parameters, output folder.",
            "Paths in the job file are relative to the file. See README.md for an example.",
            "The job runs on the host 'gradus start' runs when there is one (Ctrl-C then detaches; 'gradus jobs'),",
            "else inside this command."
        })
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "JOB", description = "The job file (.json, .yaml or .yml).")
    Path jobFile;

    @Option(names = "--resume", description = "Continue from the checkpoint in the job's output folder.")
    boolean resume;

    @Option(names = "--overwrite", description = "Start over in an output folder that holds an earlier run.")
    boolean overwrite;

    @Option(names = "--allow-changes", description = "With --resume: continue even though the job's settings differ from the checkpointed run's.")
    boolean allowChanges;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "Start from this saved adapter (PEFT's or the adapters library's layout) and train it further, "
                    + "as the job file's adapter: does; its adapter_config.json gives the tuner and its settings.")
    Path adapter;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        String text = JobFiles.text(jobFile);
        if (adapter != null) {
            text = JobFiles.withField(text, jobFile.toString(), "adapter", adapter.toAbsolutePath().normalize().toString());
        }
        // Read here first: a mistake in the file is reported before any host starts.
        JobFiles.read(text, jobFile.toString());
        SubmitOptions options = new SubmitOptions(jobFile.toAbsolutePath().getParent().toString(), resume, overwrite,
                allowChanges);
        try (JobClient jobs = JobClient.connect(backend.name);
                InterruptHook interrupt = InterruptHook.install(jobs, spec.commandLine().getErr())) {
            if (!jobs.embedded() && !backend.name.equals("auto")) {
                spec.commandLine().getErr().println("gradus train: --backend " + backend.name + " is for a host started by this "
                        + "command; the running host uses the backend it chose when it started");
            }
            JobFollower follower = new JobFollower(jobs, spec.commandLine().getOut());
            var job = follower.submitAndFollow(text, jobFile.toString(), options);
            int exit = follower.report(job, spec.commandLine().getErr(), "train");
            spec.commandLine().getOut().flush();
            return exit;
        }
    }
}
