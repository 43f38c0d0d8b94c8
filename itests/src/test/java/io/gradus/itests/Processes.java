package io.gradus.itests;

import io.gradus.core.testing.RequiredTool;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Runs an outside program (PyTorch references) and collects what it printed. */
final class Processes {

    private Processes() {}

    /** How a program ended: its exit code, and its standard output (with standard error when it failed). */
    record Result(int exit, String output) {}

    static Result run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String error = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out");
        }
        return new Result(p.exitValue(), p.exitValue() == 0 ? output : output + error);
    }

    /** Whether Debian's PyTorch is there (.ci/run installs it). */
    static boolean torchAvailable() throws Exception {
        return run("/usr/bin/python3", "-c", "import torch, numpy").exit() == 0;
    }

    /** Fails or skips the test as {@link RequiredTool} decides, unless Debian's PyTorch is there. */
    static void requireTorch() throws Exception {
        RequiredTool.require(torchAvailable(),
                "Debian's python3-torch is not installed (apt-get install python3-torch python3-numpy; .ci/run does)");
    }
}
