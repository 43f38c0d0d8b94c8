package io.gradus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One PyTorch reference process ({@code reference_worker.py}, shipped in this jar): it sets up a
 * workload once, then runs one step per request, timed by itself, so that {@link Alternation} can
 * put its steps between Gradus' one by one.
 *
 * <p>It runs the way docs/BENCHMARKS.md says is fair: Debian's {@code /usr/bin/python3}, the same
 * thread count as Gradus, OpenBLAS told this CPU's kernel when it would misdetect it, and the script
 * itself refuses a BLAS that would flatter Gradus. Each worker has one OpenMP wait policy
 * ({@link WaitPolicy}): the benchmarks run one of each and compare with the faster in every round.
 */
final class ReferenceWorker implements Alternation.Side, AutoCloseable {

    /**
     * How PyTorch's OpenMP threads wait at the end of each parallel region. libgomp's default spins
     * before it sleeps: fastest on idle cores, but when other processes hold the cores a thread spins
     * through its time slice waiting for one that is not running, and a training step of thousands
     * of small regions slows down thirtyfold. Sleeping at once costs a wake-up per region on an idle
     * machine. Neither is the fair reference on a shared machine, so both run.
     */
    enum WaitPolicy {
        SPIN(null, "spin"),
        SLEEP("PASSIVE", "sleep");

        private final String environment;
        private final String label;

        WaitPolicy(String environment, String label) {
            this.environment = environment;
            this.label = label;
        }
    }

    private static final String PYTHON = "/usr/bin/python3";
    private static final List<String> SCRIPTS = List.of("reference_worker.py", "reference_model.py");
    private static Path scripts;

    private final String name;
    private final Process process;
    private final BufferedReader output;
    private final Writer input;
    private final ObjectMapper json;
    private final List<String> said = new ArrayList<>();
    private final ObjectNode ready;

    /**
     * Starts {@code reference_worker.py WORKLOAD... THREADS} and waits until it is ready (its
     * workload built and one step run).
     *
     * @throws IllegalStateException with everything the process said, if it exits first (it
     *     refuses a netlib or misdetected BLAS, or PyTorch is missing)
     */
    ReferenceWorker(ObjectMapper json, String name, int threads, WaitPolicy policy, String... workload) throws IOException {
        this.json = json;
        this.name = name + " (" + policy.label + ")";
        List<String> command = new ArrayList<>(List.of(PYTHON, scripts().resolve(SCRIPTS.getFirst()).toString()));
        command.addAll(List.of(workload));
        command.add(Integer.toString(threads));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> environment = builder.environment();
        environment.put("OMP_NUM_THREADS", Integer.toString(threads));
        environment.put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
        environment.put("PYTHONDONTWRITEBYTECODE", "1"); // nothing left in the temporary folder
        environment.remove("OMP_WAIT_POLICY");
        if (policy.environment != null) {
            environment.put("OMP_WAIT_POLICY", policy.environment);
        }
        String core = openBlasCore();
        if (core != null && !environment.containsKey("OPENBLAS_CORETYPE")) {
            environment.put("OPENBLAS_CORETYPE", core);
        }
        process = builder.start();
        output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        input = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        JsonNode first = reply();
        ready = (ObjectNode) first;
        ready.put("omp_wait", policy.label);
    }

    /** What the process runs on: PyTorch's version and build, the BLAS serving its products, the wait policy. */
    ObjectNode ready() {
        return ready;
    }

    /** What the process runs on: its ready line, and the BLAS and kernel in words. */
    Comparison.Described described() {
        JsonNode blas = ready.get("blas");
        return new Comparison.Described(ready.put("impl", "reference"), String.format(Locale.ROOT, "%s: PyTorch %s (%s kernels), %s from %s %s (%s), OpenMP threads %s", name,
                ready.get("torch").asText(), ready.path("torch_build").path("cpu_capability").asText("?"),
                blas.get("symbol").asText(), blas.get("vendor").asText(), blas.path("core").asText(),
                blas.get("library").asText(), WaitPolicy.SPIN.label.equals(ready.get("omp_wait").asText())
                        ? "spin, then sleep (libgomp's default)" : "sleep at once (OMP_WAIT_POLICY=PASSIVE)"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long pid() {
        return process.pid();
    }

    @Override
    public double step() throws IOException {
        return request("step").get("s").asDouble();
    }

    /**
     * Starts a worker per OpenMP wait policy, each running {@code workload}, adding each to
     * {@code into} as it starts, so that the caller's cleanup closes those started when one fails.
     */
    static void startEachPolicy(List<ReferenceWorker> into, ObjectMapper json, int threads, String... workload)
            throws IOException {
        for (WaitPolicy policy : WaitPolicy.values()) {
            into.add(new ReferenceWorker(json, "PyTorch", threads, policy, workload));
        }
    }

    /** Ends each worker, its peak resident memory in MiB recorded with its ready line ({@code peak_rss_mib}). */
    static void endEach(List<ReferenceWorker> workers) throws IOException {
        for (ReferenceWorker worker : workers) {
            worker.ready().put("peak_rss_mib", worker.end());
        }
    }

    /** Ends the process; its peak resident memory in MiB. */
    double end() throws IOException {
        double peak = request("end").get("peak_rss_mib").asDouble();
        close();
        return peak;
    }

    private JsonNode request(String line) throws IOException {
        try {
            input.write(line + "\n");
            input.flush();
        } catch (IOException e) {
            // the process has gone: what it said is the reason
        }
        return reply();
    }

    /** The next JSON line the process prints; other lines are kept for the error if it exits. */
    private JsonNode reply() throws IOException {
        for (String line; (line = output.readLine()) != null; ) {
            if (line.startsWith("{")) {
                return json.readTree(line);
            }
            said.add(line);
        }
        close();
        throw new IllegalStateException("the PyTorch reference (" + name + ") stopped:\n" + String.join("\n", said));
    }

    @Override
    public void close() {
        process.destroy();
    }

    /**
     * The OpenBLAS kernel to ask for: OpenBLAS 0.3.21 takes this kind of virtual CPU for a "Prescott"
     * (an eighth of the speed); from the CPU's flags, SkylakeX with AVX-512, Haswell with AVX2, none
     * (its own detection) otherwise.
     */
    private static String openBlasCore() {
        try {
            String flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("flags"))
                    .findFirst().orElse("");
            List<String> words = List.of(flags.split("\\s+"));
            return words.contains("avx512f") ? "SkylakeX" : words.contains("avx2") ? "Haswell" : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The scripts, copied once from this jar to a temporary folder (Python cannot read them inside it). */
    private static synchronized Path scripts() throws IOException {
        if (scripts == null) {
            Path folder = Files.createTempDirectory("gradus-reference-");
            folder.toFile().deleteOnExit();
            for (String script : SCRIPTS) {
                try (InputStream in = ReferenceWorker.class.getResourceAsStream("python/" + script)) {
                    if (in == null) {
                        throw new UncheckedIOException(new IOException("this jar has no python/" + script));
                    }
                    Path copy = folder.resolve(script);
                    Files.copy(in, copy);
                    copy.toFile().deleteOnExit();
                }
            }
            scripts = folder;
        }
        return scripts;
    }
}
