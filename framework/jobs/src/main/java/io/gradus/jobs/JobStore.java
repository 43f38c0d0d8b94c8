package io.gradus.jobs;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.SubmitOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The host's record of its jobs: one JSON file per job under the host's state folder
 * ({@code var/jobs/<id>.json}), rewritten (atomically) at every change of state, so the list of jobs
 * and their states survive a restart of the host. Metrics are not kept here; they live in each
 * job's output folder.
 */
final class JobStore {

    /**
     * What is kept of a job.
     *
     * @param info the job as last shown
     * @param options how it was submitted (resuming it reuses them)
     */
    record Stored(JobInfo info, SubmitOptions options) {}

    private static final ObjectMapper JSON = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final Path dir;

    JobStore(Path dir) {
        this.dir = dir;
    }

    /** Every job recorded, oldest first; a file that cannot be read is skipped with a warning line. */
    List<Stored> load(java.util.function.Consumer<String> warnings) {
        List<Stored> jobs = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return jobs;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".json")).toList()) {
                try {
                    jobs.add(JSON.readValue(file.toFile(), Stored.class));
                } catch (IOException | RuntimeException e) {
                    warnings.accept("job record " + file + " cannot be read and is ignored: " + e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the job records in " + dir, e);
        }
        jobs.sort(Comparator.comparing((Stored s) -> s.info().submitted()).thenComparing(s -> idNumber(s.info().id(), Long.MAX_VALUE)));
        return jobs;
    }

    void save(Stored job) {
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(job.info().id() + ".json");
            Path tmp = dir.resolve(job.info().id() + ".json.tmp");
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), job);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record job " + job.info().id() + " in " + dir, e);
        }
    }

    /** A job id as the number it is, or {@code fallback} for an id that is not a number (a hand-made record). */
    static long idNumber(String id, long fallback) {
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
