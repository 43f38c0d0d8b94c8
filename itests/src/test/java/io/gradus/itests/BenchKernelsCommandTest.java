package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.cli.Gradus;
import io.gradus.cli.KernelCases;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code gradus bench kernels} as README.md shows it, with one timed call per kernel and no warm-up
 * time: a table with a row per kernel. (Speed is what the command is for; no test checks it.)
 */
@DisplayName("gradus bench kernels")
class BenchKernelsCommandTest {

    @Test
    @DisplayName("README's bench kernels: the backend it times, then every kernel's milliseconds and GFLOP/s or GB/s")
    void table() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("..", "README.md")).stream().map(String::strip)
                .filter(l -> l.startsWith("./gradus bench kernels")).map(l -> l.replaceFirst(" +#.*", "")).distinct().toList();
        assertThat(lines).as("README's bench kernels lines, in its list of commands and its TornadoVM section")
                .containsExactly("./gradus bench kernels");
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        String[] readme = ReadmeCommands.gradus("./gradus bench kernels", Map.of(), false);
        String[] args = Arrays.copyOf(readme, readme.length + 4);
        System.arraycopy(new String[] {"--reps", "1", "--warmup-seconds", "0"}, 0, args, readme.length, 4);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        assertThat(exit).as(err.toString()).isZero();

        List<String> table = out.toString().lines().toList();
        assertThat(table.getFirst()).startsWith("# cpu: ");
        assertThat(table).anyMatch(l -> l.matches("kernel +cpu ms +cpu rate"));
        List<KernelCases.Case> cases = KernelCases.all(1);
        for (KernelCases.Case kernel : cases) {
            String rate = kernel.flops() > 0 ? "GFLOP/s" : "GB/s";
            assertThat(table).as(kernel.name()).anyMatch(l -> l.matches(Pattern.quote(kernel.name()) + " +\\d+\\.\\d{3} +\\d+\\.\\d "
                    + rate));
        }
    }
}
