package io.gradus.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.gradus.api.job.JobSpec;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.jobs.JobRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gradus train JOB}: runs a training job described by a JSON or YAML file. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Train as a job file says: base model, tuner, objective, data, hyper-parameters, output folder.",
            "Paths in the job file are relative to the file. See README.md for an example."
        })
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "JOB", description = "The job file (.json, .yaml or .yml).")
    Path jobFile;

    @Option(names = "--resume", description = "Continue from the checkpoint in the job's output folder.")
    boolean resume;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        JobSpec job = read(jobFile);
        try (QuietHost quiet = new QuietHost()) {
            KernelBackend kernels = quiet.kernels(backend.name);
            JobRunner.Outcome outcome = new JobRunner(quiet.host().catalog(), quiet.host().events(), kernels, System.out,
                    DefaultModel.runFolder().resolve("model"))
                    .run(job, jobFile.toAbsolutePath().getParent(), resume);
            spec.commandLine().getOut().printf("done: %d steps, loss %.4f -> %.4f; result in %s%n", outcome.steps(),
                    outcome.firstLoss(), outcome.lastLoss(), outcome.result());
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    /** Binds a JSON or YAML job file; errors name the file and the field. */
    static JobSpec read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("job file " + file + " does not exist");
        }
        String name = file.getFileName().toString();
        ObjectMapper mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? new YAMLMapper() : new JsonMapper();
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        try {
            return mapper.readValue(file.toFile(), JobSpec.class);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"), e);
        }
    }
}
