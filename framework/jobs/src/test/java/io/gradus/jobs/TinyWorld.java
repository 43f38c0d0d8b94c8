package io.gradus.jobs;

import io.gradus.api.event.GradusEvent;
import io.gradus.api.job.JobInfo;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Tuner;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.BpeTrainer;
import io.gradus.kernels.cpu.CpuKernelBackend;
import io.gradus.plugin.full.FullTechnique;
import io.gradus.plugin.pretrain.PretrainTechnique;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.osgi.framework.Version;
import org.osgi.framework.VersionRange;

/**
 * A world small enough for a unit test of the job service: a tiny Llama with a BPE tokenizer
 * trained on a few sentences, JSONL data, the {@code full} tuner and {@code pretrain} objective as
 * plain objects in a fixed catalog, and the CPU kernels. Everything the job service does outside
 * OSGi, on the real engine.
 */
final class TinyWorld {

    final Path dir;
    final Path model;
    final SynchronousEventHub events = new SynchronousEventHub();
    final List<GradusEvent> seen = new CopyOnWriteArrayList<>();
    final CpuKernelBackend kernels = new CpuKernelBackend();

    TinyWorld(Path dir) throws IOException {
        this.dir = dir;
        this.model = dir.resolve("base");
        events.subscribe(seen::add);
        Random random = new Random(0);
        String[] words = "the cat sat on a mat and the dog ran to the park".split(" ");
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 6 + random.nextInt(6); w++) {
                text.append(w == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
            }
            texts.add(text + ".");
        }
        BpeTrainer.Trained tokenizer = BpeTrainer.train(texts, 300);
        BpeTrainer.write(tokenizer, model);
        LlamaModel.initialize(new LlamaConfig(tokenizer.size(), 32, 64, 2, 4, 2, 8, 1e-5, 10000.0, 128, false,
                tokenizer.specialId(BpeTrainer.BOS), tokenizer.specialId(BpeTrainer.EOS)), 1).save(model);
        StringBuilder jsonl = new StringBuilder();
        for (String text : texts) {
            jsonl.append("{\"text\": \"").append(text).append("\"}\n");
        }
        Files.writeString(dir.resolve("train.jsonl"), jsonl);
        Files.writeString(dir.resolve("eval.jsonl"), String.join("\n", jsonl.toString().lines().limit(20).toList()));
    }

    /** A job file for the tiny world: full fine-tuning, pre-training objective, {@code steps} steps. */
    String job(int steps, String output) {
        return """
                name: tiny
                model: base
                tuner: {name: full}
                objective: {name: pretrain}
                data: {train: train.jsonl, eval: eval.jsonl}
                hyper: {steps: %d, batchSize: 4, seqLen: 32, learningRate: 0.003, warmupSteps: 2, schedule: linear}
                output: %s
                """.formatted(steps, output);
    }

    /** The job once it has ended, whichever way (two minutes at most). */
    static JobInfo awaitEnd(HostJobService jobs, String id) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            JobInfo job = jobs.job(id).orElseThrow();
            if (job.state().finished()) {
                return job;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("job " + id + " did not end: " + jobs.job(id).orElseThrow());
    }

    HostJobService service(Path jobsDir) {
        return service(jobsDir, catalog());
    }

    HostJobService service(Path jobsDir, TechniqueCatalog catalog) {
        return service(jobsDir, catalog, 1, Duration.ofMinutes(10));
    }

    /** A service over {@code catalog}, running {@code concurrency} jobs at a time. */
    HostJobService service(Path jobsDir, TechniqueCatalog catalog, int concurrency, Duration applyTimeout) {
        return new HostJobService(jobsDir, catalog, events, () -> kernels, model, concurrency, applyTimeout);
    }

    /** The {@code full} tuner and {@code pretrain} objective, version 1.0.0, as if bundles 7 and 8 registered them. */
    static TechniqueCatalog catalog() {
        return catalog(new FullTechnique(), new PretrainTechnique());
    }

    /** {@code full} and {@code pretrain} as {@link #catalog()} has them, and {@code more}; ranges choose as the host does. */
    static TechniqueCatalog catalog(List<TechniqueCatalog.Found<?>> more) {
        List<TechniqueCatalog.Found<?>> all = new ArrayList<>(defaults(new FullTechnique(), new PretrainTechnique()));
        all.addAll(more);
        return catalogOf(all);
    }

    /**
     * {@code tuner} as the tuner {@code full} of bundle 7 and {@code objective} as the objective
     * {@code pretrain} of bundle 8, version 1.0.0.
     */
    static TechniqueCatalog catalog(Tuner<?> tuner, Objective<?> objective) {
        return catalogOf(defaults(tuner, objective));
    }

    private static List<TechniqueCatalog.Found<?>> defaults(Tuner<?> tuner, Objective<?> objective) {
        return List.of(
                new TechniqueCatalog.Found<>(new TechniqueDescriptor("full", TechniqueFamily.TUNER, "1.0.0", "full", 7,
                        "io.gradus.plugin.full"), tuner),
                new TechniqueCatalog.Found<>(new TechniqueDescriptor("pretrain", TechniqueFamily.OBJECTIVE, "1.0.0",
                        "pretrain", 8, "io.gradus.plugin.pretrain"), objective));
    }

    /** Exactly {@code all}; ranges choose as the host does. */
    static TechniqueCatalog catalogOf(List<TechniqueCatalog.Found<?>> all) {
        return new TechniqueCatalog() {
            @Override
            public List<TechniqueDescriptor> techniques() {
                return all.stream().<TechniqueDescriptor>map(Found::descriptor).toList();
            }

            @Override
            @SuppressWarnings("unchecked")
            public Optional<Found<Tuner<?>>> tuner(String name, String versionRange) {
                return find(name, TechniqueFamily.TUNER, versionRange).map(f -> (Found<Tuner<?>>) f);
            }

            @Override
            @SuppressWarnings("unchecked")
            public Optional<Found<Objective<?>>> objective(String name, String versionRange) {
                return find(name, TechniqueFamily.OBJECTIVE, versionRange).map(f -> (Found<Objective<?>>) f);
            }

            /** The highest version in the range, as the host's catalog chooses. */
            private Optional<Found<?>> find(String name, TechniqueFamily family, String versionRange) {
                VersionRange range = versionRange == null ? null : VersionRange.valueOf(versionRange);
                return all.stream().filter(f -> f.descriptor().name().equals(name) && f.descriptor().family() == family)
                        .filter(f -> range == null || range.includes(Version.valueOf(f.descriptor().version())))
                        .max(Comparator.comparing(f -> Version.valueOf(f.descriptor().version())))
                        .<Found<?>>map(f -> f);
            }
        };
    }
}
