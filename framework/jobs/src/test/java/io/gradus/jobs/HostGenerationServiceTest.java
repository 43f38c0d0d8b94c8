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
import io.gradus.api.model.Sampling;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.ChatTemplate;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
        return new HostGenerationService(TinyWorld.catalog(), jobs, () -> world.kernels, world.model);
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

        Files.delete(world.model.resolve("tokenizer_config.json"));
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
