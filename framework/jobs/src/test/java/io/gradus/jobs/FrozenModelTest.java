package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.ObjectiveSession;
import io.gradus.api.technique.SessionContext;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import io.gradus.plugin.lora.internal.LoraTechnique;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SessionContext#frozenModel}: another model an objective names (DPO's reference, PPO's reward
 * model), loaded by the job when its session starts, from a path relative to the job file.
 */
@DisplayName("Frozen models an objective names")
class FrozenModelTest {

    @TempDir
    Path dir;

    private TinyWorld world;

    /** A fixed batch every frozen model is run on. */
    private static final TokenBatch PROBE = TokenBatch.nextToken(2, 5, new int[] {1, 5, 9, 12, 7, 1, 30, 4, 4, 18});

    /** What a probe session saw: per path, the frozen runner, its trainable parameter count and its logits on PROBE. */
    record Seen(ModelRunner runner, long trainable, float[] logits) {}

    /** Configuration of {@link Probe}: the models to load. */
    public record ProbeConfig(List<String> paths) {}

    /** Next-token loss on the job's model; its session loads the frozen models it names and runs each once. */
    static final class Probe implements Objective<ProbeConfig> {

        final Map<String, Seen> seen = new LinkedHashMap<>();

        @Override
        public Class<ProbeConfig> configType() {
            return ProbeConfig.class;
        }

        @Override
        public String description() {
            return "next token, loading frozen models";
        }

        @Override
        public StepResult step(ProbeConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
            return NextTokenLoss.step(batch, runner, gradScale);
        }

        @Override
        public Example encode(ProbeConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
            return Example.allTargets(tokenizer.withEos(tokenizer.withBos(tokenizer.encode((String) record.get("text")))));
        }

        @Override
        public ObjectiveSession<ProbeConfig> session(ProbeConfig config, SessionContext context) {
            for (String path : config.paths()) {
                ModelRunner frozen = context.frozenModel(path);
                long trainable = frozen.model().parameters().stream().filter(Parameter::trainable).count();
                seen.put(path, new Seen(frozen, trainable, frozen.infer(PROBE, true).logits().clone()));
            }
            return (cfg, batch, runner, gradScale) -> step(cfg, batch, runner, gradScale);
        }
    }

    private final Probe probe = new Probe();

    @BeforeEach
    void world() throws Exception {
        world = new TinyWorld(dir);
    }

    private TechniqueCatalog catalog() {
        return TinyWorld.catalog(List.of(
                new TechniqueCatalog.Found<>(new TechniqueDescriptor("lora", TechniqueFamily.TUNER, "0.2.0", "lora", 9,
                        "io.gradus.plugin.lora"), new LoraTechnique()),
                new TechniqueCatalog.Found<>(new TechniqueDescriptor("probe", TechniqueFamily.OBJECTIVE, "1.0.0", "probe", 10,
                        "io.gradus.probe"), probe)));
    }

    private JobInfo run(HostJobService jobs, String tuner, String objective, String output) throws InterruptedException {
        String job = world.job(4, output).replace("{name: full}", tuner).replace("{name: pretrain}", objective)
                .replace("learningRate: 0.003", "learningRate: 0.02");
        return TinyWorld.awaitEnd(jobs, jobs.submit(jobs.read(job, "job.yaml"), SubmitOptions.in(dir.toString())).id());
    }

    private float[] logits(LlamaModel model) {
        return new LlamaEngine(model, world.kernels).infer(PROBE, true).logits().clone();
    }

    @Test
    @DisplayName("a model folder and an adapter folder load by paths relative to the job, frozen, apart from the model that trains")
    void loadsFrozenModels() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), catalog())) {
            JobInfo lora = run(jobs, "{name: lora, config: {r: 4, loraAlpha: 8, targetModules: [q_proj, v_proj]}}",
                    "{name: pretrain}", "lora-out");
            assertThat(lora.state()).as(lora.message()).isEqualTo(JobState.SUCCEEDED);
            Path adapter = Path.of(lora.result());
            assertThat(adapter.resolve("adapter_config.json")).exists();

            String paths = "[base, " + dir.relativize(adapter) + "]";
            JobInfo job = run(jobs, "{name: full}", "{name: probe, config: {paths: " + paths + "}}", "probe-out");
            assertThat(job.state()).as(job.message()).isEqualTo(JobState.SUCCEEDED);
            assertThat(probe.seen).containsOnlyKeys("base", dir.relativize(adapter).toString());

            float[] base = logits(LlamaModel.load(world.model));
            LlamaModel adapted = LlamaModel.load(world.model);
            Adapters.apply(adapted, adapter, catalog());
            float[] withAdapter = logits(adapted);
            assertThat(withAdapter).as("the adapter trained: it changes the logits").isNotEqualTo(base);

            Seen frozenBase = probe.seen.get("base");
            Seen frozenAdapted = probe.seen.get(dir.relativize(adapter).toString());
            assertThat(frozenBase.trainable()).as("nothing of a frozen model trains").isZero();
            assertThat(frozenAdapted.trainable()).as("not even the adapter's factors").isZero();
            assertThat(frozenBase.logits()).as("the base folder, as loaded directly").containsExactly(base);
            assertThat(frozenAdapted.logits()).as("the base with the adapter applied").containsExactly(withAdapter);

            // The job fully fine-tuned its own copy of the base for 4 steps; the frozen copy is untouched.
            assertThat(logits(LlamaModel.load(Path.of(job.result())))).as("the job's model trained").isNotEqualTo(base);
            assertThat(frozenBase.runner().infer(PROBE, true).logits()).containsExactly(base);
            assertThat(frozenAdapted.runner().infer(PROBE, true).logits()).containsExactly(withAdapter);
        }
    }

    @Test
    @DisplayName("a path that names no model fails the job before its first step, naming the path")
    void wrongPathFailsBeforeTraining() throws Exception {
        Files.createDirectories(dir.resolve("empty"));
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"), catalog())) {
            for (String path : List.of("nowhere", "empty")) {
                JobInfo job = run(jobs, "{name: full}", "{name: probe, config: {paths: [" + path + "]}}", "out-" + path);
                assertThat(job.state()).isEqualTo(JobState.FAILED);
                assertThat(job.message()).contains("objective 'probe'", "cannot load the model " + path,
                        dir.resolve(path).toString());
                assertThat(job.step()).as("no step was run").isZero();
                assertThat(dir.resolve("out-" + path + "/metrics.jsonl")).doesNotExist();
            }
        }
        assertThat(probe.seen).isEmpty();
    }
}
