package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.job.JobException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("An output folder")
class OutputFolderTest {

    @TempDir
    Path dir;

    private static String names(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList().toString();
        }
    }

    @Test
    @DisplayName("a result that fails while it is written leaves nothing half-written, and the earlier result as it was")
    void failedResultLeavesNothing() throws IOException {
        Path out = dir.resolve("out");
        try (OutputFolder folder = OutputFolder.lock(out)) {
            folder.publish(result -> {
                Files.writeString(result.resolve("adapter_config.json"), "{\"r\": 4}");
                return OutputFolder.ADAPTER;
            });
            assertThatThrownBy(() -> folder.publish(result -> {
                Files.writeString(result.resolve("adapter_config.json"), "{\"r\": 8}");
                throw new IOException("disk full");
            })).hasMessage("disk full");
            assertThat(names(out)).isEqualTo("[.gradus.lock, adapter]");
            assertThat(out.resolve("adapter/adapter_config.json")).content().isEqualTo("{\"r\": 4}");
        }
        // The lock goes with the job; its file stays (removing it after unlocking would race another process).
        assertThat(names(out)).isEqualTo("[.gradus.lock, adapter]");
        try (OutputFolder next = OutputFolder.lock(out)) {
            assertThat(out.resolve("adapter/adapter_config.json")).content().isEqualTo("{\"r\": 4}");
        }
    }

    @Test
    @DisplayName("one job at a time: a second lock is refused naming the folder; a folder nothing was written to is removed")
    void oneJobAtATime() {
        Path out = dir.resolve("out");
        try (OutputFolder first = OutputFolder.lock(out)) {
            assertThatThrownBy(() -> OutputFolder.lock(out)).isInstanceOf(JobException.class)
                    .hasMessage("output folder " + out + " is in use by another running job; wait for it or choose another output");
        }
        assertThat(out).doesNotExist();
    }
}
