package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.gradus.cli.Gradus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("gradus kernels (backend choice and parity)")
class KernelsCommandTest {

    /**
     * README's {@code ./gradus kernels --backend tornado}, the same in its list of commands and in its
     * TornadoVM section.
     */
    private static String[] readme() throws Exception {
        String[] command = ReadmeCommands.gradus("./gradus kernels --backend tornado", Map.of(), false);
        List<String> lines = Files.readAllLines(Path.of("..", "README.md")).stream().map(String::strip)
                .filter(l -> l.startsWith("./gradus kernels ")).map(l -> l.replaceFirst(" +#.*", "")).distinct().toList();
        assertThat(lines).as("README's kernels lines").containsExactly("./gradus kernels --backend tornado");
        return command;
    }

    @Test
    @DisplayName("README's kernels --backend tornado, on a JVM without TornadoVM: fails and says why")
    void tornadoForcedWithoutTornadoVm() throws Exception {
        assumeTrue(System.getenv("TORNADOVM_HOME") == null, "this JVM may run TornadoVM");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(readme());
        assertThat(exit).isEqualTo(1);
        assertThat(err.toString()).contains("--backend tornado").contains("TornadoVM is not loaded")
                .contains("TORNADOVM_HOME");
    }

    /**
     * The TornadoVM parity run: every kernel through TornadoVM inside the OSGi host, launched the way
     * users launch it (the gradus script with TORNADOVM_HOME), against the CPU backend.
     */
    @Test
    @DisplayName("README's kernels --backend tornado with a TornadoVM SDK (TORNADOVM_HOME): every kernel on TornadoVM agrees"
            + " with the CPU backend")
    void tornadoParity() throws Exception {
        String sdk = System.getenv("TORNADOVM_HOME");
        assumeTrue(sdk != null && Files.isRegularFile(Path.of(sdk, "tornado-argfile")),
                "TORNADOVM_HOME is not set to a TornadoVM SDK: the TornadoVM parity run is skipped");
        Path script = Path.of(System.getProperty("gradus.distribution")).resolve("../../../gradus").normalize();
        Path log = Files.createTempFile("gradus-kernels-", ".log");
        List<String> command = new ArrayList<>(List.of(script.toString()));
        command.addAll(List.of(readme()));
        ProcessBuilder launch = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        launch.environment().put("GRADUS_SKIP_BUILD", "1"); // the build under test is the distribution
        Process process = launch.start();
        boolean finished = process.waitFor(15, TimeUnit.MINUTES);
        if (!finished) {
            process.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        assertThat(finished).as("finished within 15 minutes: " + output).isTrue();
        System.out.println(output);
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("kernels: tornado").contains("All kernels of tornado agree");
    }
}
