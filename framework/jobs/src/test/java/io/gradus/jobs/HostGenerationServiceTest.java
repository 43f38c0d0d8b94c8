package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.generation.GeneratedToken;
import io.gradus.api.generation.GenerationException;
import io.gradus.api.generation.GenerationRequest;
import io.gradus.api.generation.GenerationResult;
import io.gradus.api.generation.GenerationSettings;
import io.gradus.api.generation.ModelSource;
import io.gradus.api.job.JobHistory;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobService;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.JobState;
import io.gradus.api.job.SubmitOptions;
import io.gradus.api.job.TechniqueRef;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.Sampling;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.io.SafetensorsFiles;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.ChatTemplate;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.jobs.faulty.FaultyTuner;
import io.gradus.plugin.pretrain.PretrainTechnique;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The generation service")
class HostGenerationServiceTest {

    @TempDir
    Path dir;

    private TinyWorld world;

    @BeforeEach
    void world() throws IOException {
        world = new TinyWorld(dir);
    }

    private HostGenerationService service(JobService jobs) {
        return service(TinyWorld.catalog(), jobs);
    }

    private HostGenerationService service(TechniqueCatalog catalog, JobService jobs) {
        return new HostGenerationService(catalog, jobs, () -> world.kernels, world.model, Duration.ofSeconds(30),
                new LoadedModels<>(2, Long.MAX_VALUE));
    }

    private static TechniqueCatalog.Found<?> tuner(String name, String version, String bundle, Object technique) {
        return new TechniqueCatalog.Found<>(new TechniqueDescriptor(name, TechniqueFamily.TUNER, version, name, 40, bundle),
                technique);
    }

    /** Runs a job file of the tiny world to its end. */
    private JobInfo run(HostJobService jobs, String text) throws InterruptedException {
        JobInfo job = jobs.submit(jobs.read(text, "job.yaml"), SubmitOptions.in(dir.toString()));
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!jobs.job(job.id()).orElseThrow().state().finished() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        JobInfo done = jobs.job(job.id()).orElseThrow();
        assertThat(done.state()).as(done.message()).isEqualTo(JobState.SUCCEEDED);
        return done;
    }

    /** {@code job} as it looked while it ran (or after it stopped early): no result, its checkpoint in {@code output}. */
    private static JobInfo as(JobInfo job, String id, JobState state, Path output) {
        return new JobInfo(id, job.name(), state, "", job.spec(), output.toString(), null, job.step(), job.totalSteps(),
                job.loss(), null, job.techniques(), job.submitted(), job.started(), null);
    }

    /** The token ids a request streams. */
    private static List<Integer> ids(HostGenerationService service, GenerationRequest request) {
        List<Integer> ids = new ArrayList<>();
        service.generate(request, token -> ids.add(token.id()));
        return ids;
    }

    private static void copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
    }

    private static void deleteFolder(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.toList()) {
                Files.delete(file);
            }
        }
        Files.delete(folder);
    }

    /** A PEFT-style adapter folder naming the tuner {@code peftType}, with one tensor. */
    private Path adapterFolder(String peftType) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("adapter-" + peftType.toLowerCase(java.util.Locale.ROOT)));
        Files.writeString(folder.resolve("adapter_config.json"), "{\"peft_type\": \"" + peftType + "\"}");
        LinkedHashMap<String, Parameter> tensors = new LinkedHashMap<>();
        tensors.put("scale", new Parameter("scale", new int[] {2}, new float[] {1, 1}));
        new SafetensorsFiles().write(folder.resolve("adapter_model.safetensors"), tensors, Map.of());
        return folder;
    }

    /** What the engine's generator produces for BOS + the prompt on {@code modelDir}: the reference. */
    private int[] reference(Path modelDir, String prompt, Sampling sampling) throws IOException {
        LlamaModel model = LlamaModel.load(modelDir);
        try (HfTokenizer tokenizer = HfTokenizer.load(world.model)) {
            int[] text = tokenizer.encodePlain(prompt);
            int[] ids = new int[text.length + 1];
            ids[0] = model.config().bosTokenId();
            System.arraycopy(text, 0, ids, 1, text.length);
            return new Generator(model, world.kernels, ids.length + sampling.maxNewTokens() + 1)
                    .generate(ids, sampling, model.config().eosTokenId(), t -> {});
        }
    }

    private static GenerationRequest prompt(ModelSource source, String prompt, GenerationSettings settings) {
        return new GenerationRequest(source, prompt, null, settings);
    }

    @Test
    @DisplayName("streams, token by token, what the engine's generator produces for BOS + prompt, sampled with the same seed")
    void streamsTheGeneratorsTokens() throws Exception {
        GenerationSettings settings = new GenerationSettings(12, 0.9, 20, 0.95, 7L);
        List<GeneratedToken> streamed = new ArrayList<>();

        GenerationResult result = service(null).generate(prompt(ModelSource.builtIn(), "the cat", settings), streamed::add);

        int[] expected = reference(world.model, "the cat", new Sampling(0.9, 20, 0.95, 12, 7));
        assertThat(streamed).extracting(GeneratedToken::id).containsExactly(Arrays.stream(expected).boxed().toArray(Integer[]::new));
        assertThat(streamed).extracting(GeneratedToken::index).containsExactly(
                java.util.stream.IntStream.range(0, expected.length).boxed().toArray(Integer[]::new));
        try (HfTokenizer tokenizer = HfTokenizer.load(world.model)) {
            assertThat(result.text()).isEqualTo(tokenizer.decode(expected, true));
        }
        assertThat(String.join("", streamed.stream().map(GeneratedToken::text).toList())).isEqualTo(result.text());
        assertThat(result.generatedTokens()).isEqualTo(expected.length);
        assertThat(result.stop()).isEqualTo(expected[expected.length - 1] == 2 && expected.length < 12 ? "eos" : "length");
        assertThat(result.model()).isEqualTo("base " + world.model);
    }

    @Test
    @DisplayName("stops when the sink says so, after the token it refused")
    void sinkStops() {
        List<GeneratedToken> streamed = new ArrayList<>();
        GenerationResult result = service(null).generate(prompt(ModelSource.builtIn(), "the dog",
                new GenerationSettings(20, 1.0, 0, 1.0, 1L)), token -> {
                    streamed.add(token);
                    return streamed.size() < 3;
                });

        assertThat(streamed).hasSize(3);
        assertThat(result.stop()).isEqualTo("stopped");
        assertThat(result.generatedTokens()).isEqualTo(3);
    }

    @Test
    @DisplayName("a finished job gives its result, and a stopped one its latest checkpoint: the same weights, the same tokens")
    void jobResultAndCheckpoint() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo job = jobs.submit(jobs.read(world.job(5, "out"), "job.yaml"), SubmitOptions.in(dir.toString()));
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (!jobs.job(job.id()).orElseThrow().state().finished() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            JobInfo done = jobs.job(job.id()).orElseThrow();
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            GenerationSettings greedy = new GenerationSettings(10, null, null, null, null);
            int[] expected = reference(Path.of(done.result()), "the mat", Sampling.greedy(10));

            GenerationResult fromResult = service(jobs).generate(prompt(new ModelSource(null, null, job.id()), "the mat", greedy),
                    t -> true);
            // The same job as if it had stopped after its last checkpoint (its final weights), with no result yet.
            JobInfo stopped = new JobInfo(done.id(), done.name(), JobState.INTERRUPTED, "", done.spec(), done.output(), null,
                    done.step(), done.totalSteps(), done.loss(), null, done.techniques(), done.submitted(), done.started(),
                    done.finished());
            GenerationResult fromCheckpoint = service(new OneJob(stopped))
                    .generate(prompt(new ModelSource(null, null, job.id()), "the mat", greedy), t -> true);

            try (HfTokenizer tokenizer = HfTokenizer.load(world.model)) {
                assertThat(fromResult.text()).isEqualTo(tokenizer.decode(expected, true));
            }
            assertThat(fromCheckpoint.text()).isEqualTo(fromResult.text());
            assertThat(fromResult.model()).isEqualTo("job " + job.id() + " (tiny), its model " + done.result());
            assertThat(fromCheckpoint.model()).isEqualTo("job " + job.id() + " (tiny), checkpoint at step 5");
            assertThat(reference(world.model, "the mat", Sampling.greedy(10)))
                    .as("training changed the model").isNotEqualTo(expected);
        }
    }

    @Test
    @DisplayName("keeps a loaded model for the next request on its source: the same model, the same tokens; a failed generation does not return it")
    void keepsLoadedModels() throws Exception {
        LoadedModels<HostGenerationService.Loaded> models = new LoadedModels<>(2, Long.MAX_VALUE);
        HostGenerationService service = new HostGenerationService(TinyWorld.catalog(), null, () -> world.kernels, world.model,
                Duration.ofSeconds(30), models);
        GenerationRequest request = prompt(ModelSource.builtIn(), "the cat", new GenerationSettings(10, 0.9, 20, 0.95, 5L));
        LoadedModels.Key key = new LoadedModels.Key("base " + world.model, LoadedModels.fingerprint(world.model));

        List<Integer> first = ids(service, request);
        HostGenerationService.Loaded kept = models.take(key).orElseThrow(() -> new AssertionError("the model was not kept"));
        models.keep(key, kept, kept.bytes());
        List<Integer> second = ids(service, request);

        assertThat(models.take(key)).as("the second request used the kept model and returned it").containsSame(kept);
        assertThat(second).as("a kept model generates as a fresh one").isEqualTo(first);
        models.keep(key, kept, kept.bytes());
        assertThatThrownBy(() -> service.generate(request, token -> {
            throw new IllegalStateException("the sink broke");
        })).isInstanceOf(GenerationException.class).hasMessage("generating with base " + world.model + " failed: the sink broke");
        assertThat(models.take(key)).as("a model whose generation failed is not kept").isEmpty();
    }

    @Test
    @DisplayName("a running job's chat follows its checkpoints: a new checkpoint is loaded, not the model kept from the old one")
    void followsNewCheckpoints() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo shorter = run(jobs, world.job(3, "a"));
            JobInfo longer = run(jobs, world.job(6, "b"));
            GenerationSettings sampled = new GenerationSettings(16, 1.0, null, null, 11L);
            List<Integer> afterShorter = ids(service(jobs), prompt(new ModelSource(null, null, shorter.id()), "the mat", sampled));
            List<Integer> afterLonger = ids(service(jobs), prompt(new ModelSource(null, null, longer.id()), "the mat", sampled));
            assertThat(afterLonger).as("three more steps changed the model").isNotEqualTo(afterShorter);

            Path output = Files.createDirectories(dir.resolve("growing"));
            Path checkpoint = output.resolve(OutputFolder.CHECKPOINT);
            copyFolder(Path.of(shorter.output()).resolve(OutputFolder.CHECKPOINT), checkpoint);
            HostGenerationService service = service(new OneJob(as(shorter, "9", JobState.RUNNING, output)));
            GenerationRequest request = prompt(new ModelSource(null, null, "9"), "the mat", sampled);
            List<Integer> early = ids(service, request);
            // The job writes its next checkpoint, as the trainer does: a new folder in the old one's place.
            deleteFolder(checkpoint);
            copyFolder(Path.of(longer.output()).resolve(OutputFolder.CHECKPOINT), checkpoint);
            List<Integer> later = new ArrayList<>();
            GenerationResult result = service.generate(request, token -> later.add(token.id()));

            assertThat(early).isEqualTo(afterShorter);
            assertThat(later).isEqualTo(afterLonger);
            assertThat(result.model()).isEqualTo("job 9 (tiny), checkpoint at step 6");
        }
    }

    @Test
    @DisplayName("reads a job's checkpoint with the tuner revision the job ran, not a newer one in its range; says so when it is gone")
    void jobsOwnRevision() throws Exception {
        try (HostJobService jobs = world.service(dir.resolve("var/jobs"))) {
            JobInfo done = run(jobs, world.job(4, "out"));
            JobInfo running = as(done, done.id(), JobState.RUNNING, Path.of(done.output()));
            // A newer full in the job's range (it names none), from another bundle, that cannot apply.
            TechniqueCatalog.Found<?> newer = tuner("full", "1.1.0", "com.example.faulty.full", new FaultyTuner("throws"));
            TechniqueCatalog both = TinyWorld.catalog(List.of(newer));
            GenerationRequest request = prompt(new ModelSource(null, null, done.id()), "the mat",
                    new GenerationSettings(10, null, null, null, null));

            GenerationResult pinned = service(both, new OneJob(running)).generate(request, t -> true);
            GenerationResult alone = service(new OneJob(running)).generate(request, t -> true);
            assertThat(pinned.text()).as("full 1.0.0, as the job ran").isEqualTo(alone.text());

            TechniqueCatalog withoutIt = TinyWorld.catalogOf(List.of(newer, new TechniqueCatalog.Found<>(new TechniqueDescriptor(
                    "pretrain", TechniqueFamily.OBJECTIVE, "1.0.0", "pretrain", 8, "io.gradus.plugin.pretrain"), new PretrainTechnique())));
            assertThatThrownBy(() -> service(withoutIt, new OneJob(running)).generate(request, t -> true))
                    .isInstanceOf(GenerationException.class)
                    .hasMessage("job " + done.id() + " runs with tuner 'full' 1.0.0 (bundle io.gradus.plugin.full), which is not "
                            + "registered right now (is it being updated?); try again in a moment")
                    .extracting(e -> ((GenerationException) e).reason()).isEqualTo(GenerationException.Reason.NOT_FOUND);
            JobInfo stopped = as(done, done.id(), JobState.INTERRUPTED, Path.of(done.output()));
            assertThatThrownBy(() -> service(withoutIt, new OneJob(stopped)).generate(request, t -> true))
                    .as("a job that no longer runs takes the highest version in its range, as a resume would")
                    .isInstanceOf(GenerationException.class)
                    .hasMessage("tuner 'full' 1.1.0 (bundle com.example.faulty.full) failed: the faulty tuner's apply broke");
        }
    }

    /** A tuner that changes nothing: its adapters load onto the base as they are. */
    private record InertTuner() implements Tuner<InertTuner.Config> {
        /** No settings. */
        record Config() {}

        @Override
        public Class<Config> configType() {
            return Config.class;
        }

        @Override
        public String description() {
            return "A tuner that changes nothing";
        }

        @Override
        public Tuning apply(Model model, Config config) {
            return List::of;
        }

        @Override
        public Tuning load(Model model, Config config, SequencedMap<String, Parameter> tensors) {
            return List::of;
        }
    }

    @Test
    @DisplayName("loads a finished job's adapter with the tuner revision the job ran, not a newer one; once it is gone, the highest in the job's range")
    void jobsAdapterRevision() throws Exception {
        Path adapter = adapterFolder("SCALE");
        JobSpec spec = new JobSpec("scaled", world.model.toString(), new TechniqueRef("scale", "[1.0,2.0)", null),
                new TechniqueRef("pretrain", null, null), new JobSpec.DataSpec("train.jsonl", null), null,
                adapter.getParent().toString(), null);
        TechniqueCatalog.Found<?> ran = tuner("scale", "1.0.0", "com.example.scale", new InertTuner());
        TechniqueCatalog.Found<?> newer = tuner("scale", "1.1.0", "com.example.faulty.scale", new FaultyTuner("throws"));
        JobInfo done = new JobInfo("5", "scaled", JobState.SUCCEEDED, "", spec, adapter.getParent().toString(),
                adapter.toString(), 10, 10, null, null, List.of(ran.descriptor()), Instant.now(), Instant.now(), Instant.now());
        GenerationSettings greedy = new GenerationSettings(6, null, null, null, null);
        GenerationRequest request = prompt(new ModelSource(null, null, "5"), "the cat", greedy);

        GenerationResult pinned = service(TinyWorld.catalog(List.of(ran, newer)), new OneJob(done)).generate(request, t -> true);

        assertThat(pinned.model()).isEqualTo("job 5 (scaled), its adapter " + adapter);
        assertThat(pinned.text()).as("the inert 1.0.0 loaded it: the base's answer")
                .isEqualTo(service(null).generate(prompt(ModelSource.builtIn(), "the cat", greedy), t -> true).text());
        assertThatThrownBy(() -> service(TinyWorld.catalog(List.of(newer)), new OneJob(done)).generate(request, t -> true))
                .isInstanceOf(GenerationException.class)
                .hasMessage("tuner 'scale' 1.1.0 (bundle com.example.faulty.scale) failed: the faulty tuner's load broke");
    }

    @Test
    @DisplayName("a tuner that throws in load, hangs in load or breaks while the model generates fails the chat naming it, its bundle and version")
    void techniqueFaults() throws Exception {
        TechniqueCatalog catalog = TinyWorld.catalog(List.of(
                tuner("throws", "1.2.0", "com.example.faulty.throws", new FaultyTuner("throws")),
                tuner("hangs", "2.0.1", "com.example.faulty.hangs", new FaultyTuner("hangs")),
                tuner("crashes", "3.0.0", "com.example.faulty.crashes", new FaultyTuner("crashes"))));
        HostGenerationService service = new HostGenerationService(catalog, null, () -> world.kernels, world.model,
                Duration.ofSeconds(1), new LoadedModels<>(2, Long.MAX_VALUE));
        GenerationSettings settings = new GenerationSettings(4, null, null, null, null);

        for (String[] fault : new String[][] {
                {"THROWS", "tuner 'throws' 1.2.0 (bundle com.example.faulty.throws) failed: the faulty tuner's load broke"},
                {"HANGS", "tuner 'hangs' 2.0.1 (bundle com.example.faulty.hangs) did not return from load within 1 s; "
                        + "what waited for it is stopped and the technique's thread is left behind"},
                {"CRASHES", "tuner 'crashes' 3.0.0 (bundle com.example.faulty.crashes) failed: the faulty tuner's module broke"}}) {
            Path adapter = adapterFolder(fault[0]);
            assertThatThrownBy(() -> service.generate(prompt(new ModelSource(world.model.toString(), adapter.toString(), null),
                    "the cat", settings), t -> true))
                    .isInstanceOf(GenerationException.class).hasMessage(fault[1])
                    .extracting(e -> ((GenerationException) e).reason()).isEqualTo(GenerationException.Reason.FAILED);
        }
        assertThat(service.generate(prompt(ModelSource.builtIn(), "the cat", settings), t -> true).generatedTokens())
                .as("the service goes on").isEqualTo(4);
    }

    @Test
    @DisplayName("renders a conversation with the model's chat template, up to the assistant's turn")
    void chat() throws Exception {
        List<ChatMessage> messages = List.of(new ChatMessage("user", "the cat"), new ChatMessage("assistant", "sat"),
                new ChatMessage("user", "on a mat"));
        String rendered = ChatTemplate.load(world.model).render(messages.stream()
                .map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(), true);
        assertThat(rendered).endsWith("assistant\n");

        GenerationResult result = service(null).generate(new GenerationRequest(null, null, messages,
                new GenerationSettings(8, null, null, null, null)), t -> true);

        try (HfTokenizer tokenizer = HfTokenizer.load(world.model)) {
            assertThat(result.text()).isEqualTo(tokenizer.decode(reference(world.model, rendered, Sampling.greedy(8)), true));
            assertThat(result.promptTokens()).isEqualTo(1 + tokenizer.encodePlain(rendered).length);
        }
    }

    @Test
    @DisplayName("says what is wrong: an unknown job, a job with no checkpoint, a missing folder, a chat without a template")
    void errors() throws IOException {
        GenerationSettings settings = GenerationSettings.defaults();
        assertThatThrownBy(() -> service(new OneJob(null)).generate(prompt(new ModelSource(null, null, "9"), "x", settings), t -> true))
                .isInstanceOf(GenerationException.class).hasMessage("there is no job with id 9")
                .extracting(e -> ((GenerationException) e).reason()).isEqualTo(GenerationException.Reason.NOT_FOUND);

        Path empty = Files.createDirectories(dir.resolve("empty-output"));
        JobSpec spec = new JobSpec("fresh", world.model.toString(), new io.gradus.api.job.TechniqueRef("full", null, null),
                new io.gradus.api.job.TechniqueRef("pretrain", null, null), new JobSpec.DataSpec("train.jsonl", null), null,
                empty.toString(), null);
        JobInfo queued = new JobInfo("4", "fresh", JobState.QUEUED, "", spec, empty.toString(), null, 0, 10, null, null,
                List.of(), java.time.Instant.now(), null, null);
        assertThatThrownBy(() -> service(new OneJob(queued)).generate(prompt(new ModelSource(null, null, "4"), "x", settings),
                t -> true)).isInstanceOf(GenerationException.class)
                .hasMessageStartingWith("job 4 (fresh) has no checkpoint yet");

        assertThatThrownBy(() -> service(null).generate(prompt(new ModelSource(dir.resolve("nowhere").toString(), null, null),
                "x", settings), t -> true)).hasMessage("model.base: " + dir.resolve("nowhere") + " is not a folder");

        Path tokenizerConfig = world.model.resolve("tokenizer_config.json");
        Files.writeString(tokenizerConfig, "{\n  \"chat_template\": \"{{ messages\"\n  \"bos_token\": \"<s>\"\n}\n");
        assertThatThrownBy(() -> service(null).generate(new GenerationRequest(null, null,
                List.of(new ChatMessage("user", "hi")), settings), t -> true))
                .as("a broken template is not said to be missing")
                .isInstanceOf(GenerationException.class).hasMessageContaining("cannot be used")
                .hasMessageContaining(tokenizerConfig.toString()).hasMessageContaining("line 3")
                .hasMessageNotContaining("no chat template")
                .extracting(e -> ((GenerationException) e).reason()).isEqualTo(GenerationException.Reason.INVALID);
        Files.delete(tokenizerConfig);
        assertThatThrownBy(() -> service(null).generate(new GenerationRequest(null, null,
                List.of(new ChatMessage("user", "hi")), settings), t -> true))
                .isInstanceOf(GenerationException.class).hasMessageContaining("no chat template")
                .extracting(e -> ((GenerationException) e).reason()).isEqualTo(GenerationException.Reason.INVALID);
        assertThatThrownBy(() -> new GenerationRequest(null, "x", List.of(new ChatMessage("user", "hi")), settings))
                .hasMessage("give either a prompt or messages (a conversation), not both");
        assertThatThrownBy(() -> new ModelSource("base", null, "3"))
                .hasMessage("model: give either a job or a base model (with an adapter), not both");
    }

    /** A job service that knows one job (or none). */
    private record OneJob(JobInfo job) implements JobService {
        @Override
        public Optional<JobInfo> job(String id) {
            return Optional.ofNullable(job).filter(j -> j.id().equals(id));
        }

        @Override
        public JobSpec read(String text, String source) {
            throw new UnsupportedOperationException();
        }

        @Override
        public JobInfo submit(JobSpec spec, SubmitOptions options) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<JobInfo> jobs() {
            return job == null ? List.of() : List.of(job);
        }

        @Override
        public JobInfo cancel(String id) {
            throw new UnsupportedOperationException();
        }

        @Override
        public JobInfo resume(String id) {
            throw new UnsupportedOperationException();
        }

        @Override
        public JobHistory history(String id) {
            throw new UnsupportedOperationException();
        }

        @Override
        public JobInfo steer(String id, Map<String, Object> changes) {
            throw new UnsupportedOperationException();
        }
    }
}
