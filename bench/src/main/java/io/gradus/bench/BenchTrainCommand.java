package io.gradus.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.job.Hyperparameters;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.cli.BackendOption;
import io.gradus.cli.EmbeddedHost;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.train.BatchSource;
import io.gradus.core.train.GroupedExamples;
import io.gradus.core.train.Trainer;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradus bench train}: training and inference throughput of the benchmark configurations,
 * optionally beside the PyTorch reference run in the same invocation (ratios, not absolute numbers,
 * are what to compare on a shared machine).
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Measure tokens/s of training (forward + loss + backward + AdamW) with a tuner,",
            "of DPO (pairs through the policy and a no-grad reference), or of inference",
            "(full-sequence forward), on the SMALL or MEDIUM configuration of",
            "docs/BENCHMARKS, and the heap live during training; qlora also the resident",
            "bytes per weight of its NF4 base. With --reference, run PyTorch too (modes it",
            "has), a step of each in turn, and print the ratio per round; with --against,",
            "another mode of Gradus. --mode ppo times PPO iterations instead: generation,",
            "scoring, forward passes and optimisation, and the heap a separate value model",
            "would take."
        })
final class BenchTrainCommand implements Callable<Integer> {

    /** The benchmark shapes: model, sequence length, batch size. */
    private record Shape(LlamaConfig config, int seq, int batch) {}

    private static final Map<String, Shape> SHAPES = Map.of(
            "small", new Shape(new LlamaConfig(512, 128, 344, 4, 4, 2, 32, 1e-5, 10000.0, 128, false, 1, 2), 128, 8),
            "medium", new Shape(new LlamaConfig(2048, 384, 1024, 6, 6, 2, 64, 1e-5, 10000.0, 256, false, 1, 2), 256, 4));

    @Spec
    CommandSpec spec;

    @Mixin
    BackendOption backend;

    @Option(names = "--config", defaultValue = "small", description = "small or medium. Default: ${DEFAULT-VALUE}.")
    String config;

    @Option(names = "--mode", defaultValue = "full",
            description = "full, lora (r 8, alpha 16 on q,k,v,o,gate,up,down), adapters (Houlsby: after attention and MLP, "
                    + "reduction 16), qlora (the linear weights in NF4, blocks of 64, double quantization, and that LoRA), "
                    + "dpo (full fine-tuning, batch pairs against a snapshot of the starting weights), dpo_lora (that LoRA, "
                    + "the reference its adapters switched off), infer, or ppo (iterations of the ppo objective with that "
                    + "LoRA; --steps counts iterations). Default: ${DEFAULT-VALUE}.")
    String mode;

    /** The modes, and those the PyTorch reference (reference_worker.py) renders too. */
    private static final List<String> MODES = List.of("full", "lora", "adapters", "qlora", "dpo", "dpo_lora", "infer", "ppo");
    private static final List<String> REFERENCE_MODES = List.of("full", "lora", "dpo", "dpo_lora", "infer");

    /** LoRA as the PyTorch reference adds it: rank 8, alpha 16, on the seven projections. */
    static final Map<String, Object> LORA = Map.of("r", 8, "loraAlpha", 16, "targetModules",
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"));

    /**
     * Each training mode's tuner and its configuration. Full fine-tuning goes through the full tuner
     * too: DPO's reference then knows that the weights themselves train (a snapshot, not a base pass).
     */
    private static final Map<String, Map.Entry<String, Map<String, Object>>> TUNERS = Map.of(
            "full", Map.entry("full", Map.of()),
            "dpo", Map.entry("full", Map.of()),
            "dpo_lora", Map.entry("lora", LORA),
            "lora", Map.entry("lora", LORA),
            "adapters", Map.entry("adapters", Map.of("preset", "double_seq_bn", "reductionFactor", 16)),
            "qlora", Map.entry("qlora", Map.of("blockSize", 64, "doubleQuant", true, "lora", LORA)));

    @Option(names = "--heap-steps", defaultValue = "3",
            description = "Steps after the measured ones, run while full collections sample the live heap (slow). Default: ${DEFAULT-VALUE}.")
    int heapSteps;

    @Option(names = "--steps", defaultValue = "20",
            description = "Measured steps; with --reference, rounds of one step of Gradus and one of each reference process. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--warmup", defaultValue = "8",
            description = "Unmeasured steps first (rounds, with --reference), enough for the JIT compiler's C2 to compile the kernels. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--threads", defaultValue = "2", description = "Kernel threads. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--reference",
            description = "Also run the PyTorch reference (a plain-PyTorch Llama of the same shapes on Debian's /usr/bin/python3, OpenBLAS, "
                    + "--threads), its steps alternating with Gradus', and print the ratio per round (modes full, lora, dpo, dpo_lora, infer).")
    boolean reference;

    @Option(names = "--against", paramLabel = "MODE",
            description = "Also run another mode of Gradus on the same shapes (e.g. --mode lora --against full), its steps alternating "
                    + "with --mode's, and print the ratio per round (not ppo; a DPO mode only against the other).")
    String against;

    /** The PyTorch processes of --reference, one per OpenMP wait policy, and when the timing began. */
    private final List<ReferenceWorker> references = new ArrayList<>();
    private List<Alternation.Timings> timed;
    private String loadBefore;

    @Override
    public Integer call() throws Exception {
        Shape shape = SHAPES.get(config);
        if (shape == null || !MODES.contains(mode) || against != null && !MODES.contains(against)) {
            throw new ParameterException(spec.commandLine(), "--config must be small or medium and --mode and --against one of "
                    + MODES);
        }
        if (against != null && reference) {
            throw new ParameterException(spec.commandLine(), "--against and --reference compare with one thing at a time: give one");
        }
        if (reference && !REFERENCE_MODES.contains(mode)) {
            throw new ParameterException(spec.commandLine(), "the PyTorch reference has no " + mode + " mode (it has "
                    + String.join(", ", REFERENCE_MODES) + "): leave out --reference to measure Gradus alone");
        }
        if (against != null && (mode.equals("ppo") || against.equals("ppo"))) {
            throw new ParameterException(spec.commandLine(), "--against alternates steps, and ppo is timed by iteration and "
                    + "phase: run --mode ppo alone");
        }
        if (against != null && dpo(mode) != dpo(against)) {
            throw new ParameterException(spec.commandLine(), "--against compares modes that put the same tokens through the "
                    + "policy: dpo and dpo_lora (pairs of rows) with each other, the other modes with each other");
        }
        System.setProperty("gradus.kernel.threads", Integer.toString(threads));
        ObjectMapper json = new ObjectMapper();
        ObjectNode gradus;
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            if (reference) {
                ReferenceWorker.startEachPolicy(references, json, threads, "train", config, mode);
            }
            KernelBackend kernels = quiet.kernels(backend.name);
            gradus = mode.equals("ppo")
                    ? PpoIterationBench.measure(json, shape.config(), shape.seq(), shape.batch(), steps, warmup, kernels,
                            quiet.host().catalog())
                    : measure(json, shape, kernels, quiet.host().catalog());
        } finally {
            references.forEach(ReferenceWorker::close);
        }
        gradus.put("config", config);
        gradus.put("threads", threads);
        PrintWriter out = spec.commandLine().getOut();
        out.println(json.writeValueAsString(gradus));
        if (gradus.has("heap_live_mib")) {
            out.println(memoryLine(gradus));
        }
        if (mode.equals("ppo")) {
            out.println(PpoIterationBench.line(gradus));
        }
        if (reference || against != null) {
            List<Comparison.Described> others = new ArrayList<>(references.stream().map(ReferenceWorker::described).toList());
            if (against != null) {
                others.add(new Comparison.Described(json.createObjectNode().put("impl", "gradus").put("mode", against),
                        "Gradus " + against + ": the same shapes in mode " + against + ", in this JVM"));
            }
            Comparison.print(out, json, String.format(Locale.ROOT, "%s %s, %d threads", config, mode, threads), others, timed,
                    gradus.get("tokens_per_step").asInt(), "tok_s", loadBefore);
        }
        out.flush();
        return 0;
    }

    /** Whether a mode's batches are DPO's pairs: two rows, chosen and rejected, per sequence of the shape. */
    private static boolean dpo(String mode) {
        return mode.startsWith("dpo");
    }

    /** A model, one training (or inference) step of a mode on it, and the tokens the step puts through the model. */
    private record Workload(LlamaModel model, Runnable step, int tokens) {}

    @SuppressWarnings("unchecked")
    private Workload workload(ObjectMapper json, Shape shape, KernelBackend kernels, TechniqueCatalog catalog, String mode) {
        String objectiveName = dpo(mode) ? "dpo" : "pretrain";
        Objective<?> objective = catalog.objective(objectiveName, null)
                .orElseThrow(() -> new IllegalStateException("the " + objectiveName + " objective bundle is not running"))
                .technique();
        LlamaModel model = LlamaModel.initialize(shape.config(), 0);
        Random random = new Random(1);
        int[] ids = new int[shape.batch() * shape.seq()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(shape.config().vocabSize());
        }
        TokenBatch batch = dpo(mode) ? pairs(ids, shape, random) : TokenBatch.nextToken(shape.batch(), shape.seq(), ids);
        Runnable step;
        if (mode.equals("infer")) {
            LlamaEngine engine = new LlamaEngine(model, kernels);
            step = () -> engine.forward(batch);
        } else {
            var tunerAndConfig = TUNERS.get(mode);
            Tuner<Object> tuner = (Tuner<Object>) catalog.tuner(tunerAndConfig.getKey(), null)
                    .orElseThrow(() -> new IllegalStateException("the " + tunerAndConfig.getKey()
                            + " tuner bundle is not running")).technique();
            Tuning tuning = tuner.apply(model, json.convertValue(tunerAndConfig.getValue(), tuner.configType()));
            List<Parameter> trainable = tuning.trainableParameters();
            // DPO's reference passes switch the tuning off (dpo_lora) or swap a snapshot in (dpo): the engine knows it.
            LlamaEngine engine = new LlamaEngine(model, kernels, List.of(tuning));
            BatchSource same = new BatchSource() {
                @Override
                public TokenBatch next() {
                    return batch;
                }

                @Override
                public long position() {
                    return 0;
                }

                @Override
                public void seek(long position) {}
            };
            Hyperparameters hyper = new Hyperparameters(Integer.MAX_VALUE, shape.batch(), shape.seq(), 1, 1e-4, 0,
                    "constant", 0.0, null, null, null, 0.0, null);
            Objective<Object> typed = (Objective<Object>) objective;
            Object objectiveConfig = new ObjectMapper().convertValue(Map.of(), typed.configType());
            Trainer<Object> trainer = new Trainer<>(engine, trainable, typed, objectiveConfig, same, hyper);
            step = () -> trainer.run(trainer.step() + 1, m -> {});
        }
        // Tokens through the model per step: a DPO batch holds 2 rows (chosen, rejected) per pair.
        return new Workload(model, step, batch.batchSize() * batch.seqLen());
    }

    private ObjectNode measure(ObjectMapper json, Shape shape, KernelBackend kernels, TechniqueCatalog catalog)
            throws Exception {
        Workload measured = workload(json, shape, kernels, catalog, mode);
        LlamaModel model = measured.model();
        Runnable step = measured.step();
        // the linear modules keep their shapes when a tuner wraps them
        long linearWeights = model.linears().values().stream().mapToLong(l -> l.outFeatures() * (long) l.inFeatures()).sum();
        long largestLinear = model.linears().values().stream().mapToLong(l -> l.outFeatures() * (long) l.inFeatures()).max()
                .orElse(0);
        // Gradus and each reference process in turn, step by step (docs/DESIGN.md).
        loadBefore = CpuShare.loadAverage();
        List<Alternation.Side> sides = new ArrayList<>();
        sides.add(Alternation.inProcess("Gradus", step));
        sides.addAll(references);
        if (against != null) {
            sides.add(Alternation.inProcess("Gradus " + against, workload(json, shape, kernels, catalog, against).step()));
        }
        timed = Alternation.run(sides, warmup, 0, steps);
        ReferenceWorker.endEach(references);
        int tokens = measured.tokens();
        ObjectNode result = json.createObjectNode();
        result.put("impl", "gradus");
        result.put("mode", mode);
        result.put("backend", kernels.description());
        result.put("params", model.parameterCount());
        result.put("tokens_per_step", tokens);
        Comparison.put(json, result, timed.getFirst(), tokens, "tok_s");
        result.put("peak_heap_mib", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20);
        result.put("peak_rss_mib", peakRssMib());
        // The base's linear weights as they are held now (float, or NF4 codes and scales).
        List<QuantizedWeight> quantized = model.quantizedWeights();
        long quantizedWeights = quantized.stream().mapToLong(QuantizedWeight::size).sum();
        long linearBytes = 4 * (linearWeights - quantizedWeights) + quantized.stream().mapToLong(QuantizedWeight::bytes).sum();
        result.put("linear_weights", linearWeights);
        result.put("linear_bytes_per_weight", (double) linearBytes / linearWeights);
        result.put("linear_mib", linearBytes / MIB);
        result.put("linear_float_mib", 4 * linearWeights / MIB);
        result.put("largest_linear_float_mib", 4 * largestLinear / MIB);
        if (!mode.equals("infer") && heapSteps > 0) {
            HeapProbe.Peak heap = HeapProbe.during(() -> {
                for (int i = 0; i < heapSteps; i++) {
                    step.run();
                }
            });
            result.put("heap_live_mib", heap.atRest() / MIB);
            result.put("heap_peak_live_mib", heap.peak() / MIB);
            result.put("heap_collections", heap.collections());
            result.put("heap_steps", heapSteps);
        }
        return result;
    }

    /**
     * The reference's DPO batch: B pairs of T tokens, chosen row b the random {@code ids} of row b and
     * rejected row b random tokens that share its first T/4 (the prompt); the completions, from T/4
     * on, are scored. Pairs in adjacent rows, as the dpo objective batches them.
     */
    private static TokenBatch pairs(int[] ids, Shape shape, Random random) {
        int seq = shape.seq();
        List<SequenceGroup> groups = new ArrayList<>();
        for (int b = 0; b < shape.batch(); b++) {
            int[] chosen = Arrays.copyOfRange(ids, b * seq, (b + 1) * seq);
            int[] rejected = new int[seq];
            for (int t = 0; t < seq; t++) {
                rejected[t] = t < seq / 4 ? chosen[t] : random.nextInt(shape.config().vocabSize());
            }
            boolean[] completion = new boolean[seq];
            Arrays.fill(completion, seq / 4, seq, true);
            groups.add(new SequenceGroup(List.of(new Example(chosen, completion), new Example(rejected, completion)), Map.of()));
        }
        return new GroupedExamples(groups, IntStream.range(0, groups.size()).toArray(), groups.size(), seq, 0).next();
    }

    private static final double MIB = 1 << 20;

    /** The heap figures in words: what training kept live, and the base beside its float size. */
    private static String memoryLine(JsonNode r) {
        double rest = r.get("heap_live_mib").asDouble();
        return String.format(Locale.ROOT, "%s %s heap: %.1f MiB live at rest, at most %.1f MiB (+%.1f) live during %d steps "
                + "(%d full collections); the base's %,d linear weights take %.2f MiB (%.4f bytes each), %.2f MiB in float "
                + "(the largest one %.2f MiB)", r.get("config").asText(), r.get("mode").asText(), rest,
                r.get("heap_peak_live_mib").asDouble(), r.get("heap_peak_live_mib").asDouble() - rest,
                r.get("heap_steps").asInt(), r.get("heap_collections").asInt(), r.get("linear_weights").asLong(),
                r.get("linear_mib").asDouble(), r.get("linear_bytes_per_weight").asDouble(),
                r.get("linear_float_mib").asDouble(), r.get("largest_linear_float_mib").asDouble());
    }

    /** VmHWM of this process from /proc (Linux), or -1. */
    private static long peakRssMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) >> 10;
                }
            }
        } catch (Exception e) {
            // not Linux: unknown
        }
        return -1;
    }
}
