package io.gradus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs one of the PyTorch/OpenBLAS reference benchmarks ({@code ../shared/bench}) the way
 * docs/BENCHMARKS.md says is fair: Debian's {@code /usr/bin/python3}, OpenBLAS told its Skylake-X
 * kernel (it misdetects this CPU otherwise) and the same thread count as Gradus.
 */
final class PythonReference {

    private PythonReference() {}

    /** The JSON lines the script printed, in order; an error with its whole output if it failed. */
    static List<JsonNode> run(ObjectMapper json, Path script, int threads, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", script.toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder process = new ProcessBuilder(command);
        process.environment().putAll(Map.of("OPENBLAS_CORETYPE", "SkylakeX", "OMP_NUM_THREADS", Integer.toString(threads),
                "OPENBLAS_NUM_THREADS", Integer.toString(threads), "QUIET_WAIT", "5"));
        process.redirectErrorStream(true);
        Process p = process.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                lines.add(line);
            }
        }
        List<JsonNode> results = new ArrayList<>();
        for (String line : lines) {
            if (line.startsWith("{")) {
                results.add(json.readTree(line));
            }
        }
        if (p.waitFor() != 0 || results.isEmpty()) {
            throw new IllegalStateException("the reference " + script + " failed:\n" + String.join("\n", lines));
        }
        return results;
    }
}
