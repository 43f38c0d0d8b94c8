package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.job.JobException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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

    @Test
    @DisplayName("a folder another process holds (a second gradus train, another host) is refused, and free once it exits")
    void anotherProcess() throws Exception {
        Path out = dir.resolve("out");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(),
                out.toString()).redirectErrorStream(true).start();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(lines.readLine()).as("the other process took the folder").isEqualTo("held");
            assertThatThrownBy(() -> OutputFolder.lock(out)).isInstanceOf(JobException.class)
                    .hasMessage("output folder " + out + " is in use by another running job; wait for it or choose another output");
            holder.getOutputStream().close();
            assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            holder.destroyForcibly();
        }
        try (OutputFolder mine = OutputFolder.lock(out)) {
            assertThat(mine.dir()).isEqualTo(out);
        }
    }

    /** Another process: holds the output folder named by its argument until its standard input closes. */
    static final class Holder {
        public static void main(String[] args) throws IOException {
            try (OutputFolder folder = OutputFolder.lock(Path.of(args[0]))) {
                System.out.println("held");
                System.out.flush();
                while (System.in.read() >= 0) {
                    // wait for the test to close our input
                }
            }
        }
    }
}
