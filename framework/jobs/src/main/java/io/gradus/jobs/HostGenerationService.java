package io.gradus.jobs;

import io.gradus.api.generation.GeneratedToken;
import io.gradus.api.generation.GenerationException;
import io.gradus.api.generation.GenerationRequest;
import io.gradus.api.generation.GenerationResult;
import io.gradus.api.generation.GenerationService;
import io.gradus.api.generation.GenerationSettings;
import io.gradus.api.generation.ModelSource;
import io.gradus.api.generation.TokenSink;
import io.gradus.api.job.JobException;
import io.gradus.api.job.JobInfo;
import io.gradus.api.job.JobService;
import io.gradus.api.job.JobSpec;
import io.gradus.api.job.JobState;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Parameter;
import io.gradus.api.model.QuantizedWeight;
import io.gradus.api.model.Sampling;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.core.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@link GenerationService} on the engine's {@link Generator}: loads the model a request names
 * (the base, the base with a PEFT adapter, or a job's result or latest checkpoint), encodes the
 * prompt as training encodes it (BOS, then the text; a conversation through the model's chat
 * template), and streams the continuation.
 *
 * <p>Loaded models are kept for the next request on the same source ({@link LoadedModels}); each is
 * used by one generation at a time, so requests never share the work buffers of a tuner's layers.
 * A tuner's code runs as in a job ({@link TechniqueFaults}): within the apply timeout, and blamed by
 * name when it throws. Interrupting the calling thread stops the request: a load at its next linear
 * module, a generation at its next token.
 */
public final class HostGenerationService implements GenerationService {

    /** How often a checkpoint that is being replaced right now is looked for again. */
    private static final int CHECKPOINT_TRIES = 5;

    private final TechniqueCatalog catalog;
    private final JobService jobs;
    private final Supplier<KernelBackend> kernels;
    private final Path builtInModel;
    private final Duration applyTimeout;
    private final LoadedModels<Loaded> models;

    /** @param builtInModel the model folder a request that names none gets */
    public HostGenerationService(TechniqueCatalog catalog, JobService jobs, Supplier<KernelBackend> kernels, Path builtInModel) {
        this(catalog, jobs, kernels, builtInModel, TechniqueFaults.configuredApplyTimeout(), LoadedModels.configured());
    }

    /**
     * @param applyTimeout how long a tuner's {@code apply} or {@code load} may take
     * @param models where loaded models are kept between requests
     */
    HostGenerationService(TechniqueCatalog catalog, JobService jobs, Supplier<KernelBackend> kernels, Path builtInModel,
            Duration applyTimeout, LoadedModels<Loaded> models) {
        this.catalog = catalog;
        this.jobs = jobs;
        this.kernels = kernels;
        this.builtInModel = builtInModel;
        this.applyTimeout = applyTimeout;
        this.models = models;
    }

    /**
     * A model ready to generate, the folder its tokenizer and chat template come from, what it is,
     * and the techniques whose code it runs.
     */
    record Loaded(LlamaModel model, Path tokenizerDir, String description, List<TechniqueCatalog.Found<?>> techniques) {

        /** What the model holds in memory: 4 bytes per float parameter, half a byte per NF4 weight. */
        long bytes() {
            return 4L * model.parameters().stream().mapToLong(Parameter::size).sum()
                    + model.quantizedWeights().stream().mapToLong(QuantizedWeight::size).sum() / 2;
        }
    }

    /** A model source resolved to its cache key, and how to load it when no copy is kept. */
    private record Source(LoadedModels.Key key, Loader loader) {}

    @FunctionalInterface
    private interface Loader {
        Loaded load() throws IOException;
    }

    /** A job's checkpoint folder was not there: not written yet, or being replaced right now. */
    private static final class NoCheckpoint extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NoCheckpoint(String job) {
            super(job, null, false, false);
        }
    }

    /** Thrown out of the generator's token callback when the sink asks to stop. */
    private static final class Stopped extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Stopped() {
            super(null, null, false, false);
        }
    }

    @Override
    public GenerationResult generate(GenerationRequest request, TokenSink sink) {
        // Callers run on their own threads (a console worker has its bundle's loader as context
        // loader); the tokenizer library looks its resources up through the context loader.
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(HostGenerationService.class.getClassLoader());
        try {
            return generateHere(request, sink);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private GenerationResult generateHere(GenerationRequest request, TokenSink sink) {
        Source source;
        Loaded loaded;
        // A job's checkpoint folder is replaced (renamed) at every checkpoint: look again when it is between two.
        for (int attempt = 1;; attempt++) {
            try {
                source = source(request.model());
                Source chosen = source;
                loaded = models.take(source.key()).orElseGet(() -> load(chosen));
                break;
            } catch (NoCheckpoint e) {
                if (attempt == CHECKPOINT_TRIES) {
                    throw new GenerationException(GenerationException.Reason.NOT_FOUND, e.getMessage() + " has no checkpoint "
                            + "yet (it writes one every tenth of its steps); try again in a moment");
                }
                try {
                    Thread.sleep(50L * attempt);
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                    throw new GenerationException(GenerationException.Reason.FAILED, "stopped looking for the checkpoint of "
                            + e.getMessage() + ": the request went away", stop);
                }
            }
        }
        boolean intact = false;
        try {
            GenerationResult result = generateWith(loaded, request, sink);
            intact = true;
            return result;
        } catch (GenerationException e) {
            intact = true;
            throw e;
        } catch (RuntimeException | Error e) {
            throw blamed(loaded.techniques(), e, "generating with " + loaded.description());
        } finally {
            if (intact) {
                models.keep(source.key(), loaded, loaded.bytes());
            }
        }
    }

    private GenerationResult generateWith(Loaded loaded, GenerationRequest request, TokenSink sink) {
        GenerationSettings settings = request.settings();
        try (HfTokenizer tokenizer = HfTokenizer.load(loaded.tokenizerDir())) {
            TokenizerAdapter text = TokenizerAdapter.of(tokenizer, loaded.model().config(), loaded.tokenizerDir());
            int[] prompt = prompt(request, text);
            int eos = loaded.model().config().eosTokenId();
            Generator generator = new Generator(loaded.model(), kernels.get(), prompt.length + settings.maxNewTokens() + 1);
            StreamedText streamed = new StreamedText(text, sink);
            boolean stopped = false;
            long start = System.nanoTime();
            try {
                generator.generate(prompt, new Sampling(settings.temperature(), settings.topK(), settings.topP(),
                        settings.maxNewTokens(), settings.seed()), eos, streamed::add);
            } catch (Stopped e) {
                stopped = true;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            int[] produced = streamed.ids();
            String stop = stopped ? "stopped"
                    : produced.length > 0 && produced[produced.length - 1] == eos ? "eos" : "length";
            return new GenerationResult(loaded.description(), text.decode(produced), prompt.length, produced.length, stop,
                    seconds > 0 ? produced.length / seconds : 0);
        } catch (IOException e) {
            throw new GenerationException(GenerationException.Reason.FAILED, loaded.tokenizerDir() + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new GenerationException(GenerationException.Reason.INVALID, e.getMessage(), e);
        }
    }

    /**
     * A failure while technique code ran, named by the technique when it came from one, and never a
     * bare Java exception: the message is what the person who asked reads.
     */
    private static GenerationException blamed(List<TechniqueCatalog.Found<?>> techniques, Throwable e, String doing) {
        if (e instanceof GenerationException g) {
            return g;
        }
        if (e instanceof TechniqueFaults.TechniqueFailure failure) {
            return new GenerationException(GenerationException.Reason.FAILED, failure.getMessage(), failure);
        }
        return new TechniqueFaults(techniques).blame(e)
                .map(failure -> new GenerationException(GenerationException.Reason.FAILED, failure.getMessage(), e))
                .orElseGet(() -> new GenerationException(GenerationException.Reason.FAILED, doing + " failed: "
                        + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()), e));
    }

    /**
     * BOS and the prompt, as SFT encodes a prompt (one BOS when the prompt's text starts with it); or
     * the conversation rendered up to the assistant's turn, as SFT encodes a conversation.
     */
    private static int[] prompt(GenerationRequest request, TokenizerAdapter text) {
        if (request.prompt() != null && !request.prompt().isEmpty()) {
            return text.withBosOnce(text.encode(request.prompt()));
        }
        if (text.chat() == null) {
            // The adapter tells a missing template from a broken one (file, line and column).
            throw new GenerationException(GenerationException.Reason.INVALID, text.chatProblem()
                    + "; send a plain prompt instead of messages");
        }
        return text.encodeChat(request.messages(), true);
    }

    /**
     * Decodes the continuation as it grows and hands the sink only what each token added: the whole
     * continuation is decoded every time, because byte-level tokens may split a character, and text
     * ending in an incomplete character (U+FFFD) is held back until the character is complete.
     */
    private static final class StreamedText {
        private final TokenizerAdapter text;
        private final TokenSink sink;
        private int[] ids = new int[16];
        private int count;
        private int sent;

        StreamedText(TokenizerAdapter text, TokenSink sink) {
            this.text = text;
            this.sink = sink;
        }

        void add(int id) {
            if (count == ids.length) {
                ids = Arrays.copyOf(ids, count * 2);
            }
            ids[count++] = id;
            String decoded = text.decode(ids());
            String piece = "";
            if (decoded.length() > sent && !decoded.endsWith("\uFFFD")) {
                piece = decoded.substring(sent);
                sent = decoded.length();
            }
            if (!sink.accept(new GeneratedToken(count - 1, id, piece)) || Thread.currentThread().isInterrupted()) {
                throw new Stopped();
            }
        }

        int[] ids() {
            return Arrays.copyOf(ids, count);
        }
    }

    /** Where a request's model comes from, and its cache key; nothing is loaded yet. */
    private Source source(ModelSource source) {
        try {
            if (source.job() != null) {
                return fromJob(source.job());
            }
            Path base = source.base() != null ? existing(source.base(), "model.base") : builtIn();
            if (source.adapter() == null) {
                String description = "base " + base;
                return new Source(new LoadedModels.Key(description, LoadedModels.fingerprint(base)),
                        () -> new Loaded(loadBase(base), base, description, List.of()));
            }
            Path adapter = existing(source.adapter(), "model.adapter");
            String description = "base " + base + " with adapter " + adapter;
            return new Source(new LoadedModels.Key(description, LoadedModels.fingerprint(base, adapter)),
                    () -> withAdapter(base, adapter, description, name -> catalog.tuner(name, null)));
        } catch (IOException e) {
            throw new GenerationException(GenerationException.Reason.FAILED, e.getMessage(), e);
        }
    }

    /** Loads a source, turning every failure into a message for the person who asked. */
    private Loaded load(Source source) {
        try {
            Loaded loaded = source.loader().load();
            stopIfInterrupted(source.key().source());
            return loaded;
        } catch (IOException e) {
            stopIfInterrupted(source.key().source());
            throw new GenerationException(GenerationException.Reason.FAILED, e.getMessage(), e);
        } catch (NoCheckpoint e) {
            throw e;
        } catch (RuntimeException | Error e) {
            throw blamed(List.of(), e, "loading " + source.key().source());
        }
    }

    private static void stopIfInterrupted(String what) {
        if (Thread.currentThread().isInterrupted()) {
            throw new GenerationException(GenerationException.Reason.FAILED, "stopped loading " + what
                    + ": the request went away");
        }
    }

    /** A model folder, read module by module until the calling thread is interrupted. */
    private static LlamaModel loadBase(Path base) throws IOException {
        return LlamaModel.load(base, (name, module) -> {
            stopIfInterrupted(base.toString());
            return module;
        });
    }

    /** The base with an adapter folder, loaded by the tuner {@code tuners} gives for the name the adapter names. */
    private Loaded withAdapter(Path base, Path adapter, String description,
            Function<String, Optional<TechniqueCatalog.Found<Tuner<?>>>> tuners) throws IOException {
        LlamaModel model = loadBase(base);
        Adapters.Applied applied = Adapters.apply(model, adapter, tuners, applyTimeout);
        return new Loaded(model, base, description, List.of(applied.tuner()));
    }

    /** A finished job's result; otherwise its latest checkpoint applied to the job's base model. */
    private Source fromJob(String id) throws IOException {
        JobInfo job = jobs.job(id).orElseThrow(() -> new GenerationException(GenerationException.Reason.NOT_FOUND,
                "there is no job with id " + id));
        JobSpec spec = job.spec();
        Path base = spec.model() != null ? Path.of(spec.model()) : builtIn();
        String name = "job " + id + " (" + job.name() + ")";
        if (job.state() == JobState.SUCCEEDED && job.result() != null) {
            Path result = Path.of(job.result());
            if (Files.isRegularFile(result.resolve("adapter_config.json"))) {
                // The job's own tuner loads its adapter, in the revision the job ran (a QLoRA job's
                // adapter names another tuner, LoRA: that one is the highest installed).
                String description = name + ", its adapter " + result;
                return new Source(new LoadedModels.Key(description, LoadedModels.fingerprint(base, result)),
                        () -> withAdapter(base, result, description, tuner -> tuner.equals(spec.tuner().name())
                                ? Optional.of(tuner(job)) : catalog.tuner(tuner, null)));
            }
            String description = name + ", its model " + result;
            return new Source(new LoadedModels.Key(description, LoadedModels.fingerprint(result)),
                    () -> new Loaded(loadBase(result), base, description, List.of()));
        }
        Path checkpoint = Path.of(job.output()).resolve(OutputFolder.CHECKPOINT);
        TechniqueCatalog.Found<Tuner<?>> found = tuner(job);
        @SuppressWarnings("unchecked")
        Tuner<Object> tuner = (Tuner<Object>) found.technique();
        Object config = JobRun.bind(tuner, spec.tuner(), "tuner");
        String baseFiles = LoadedModels.fingerprint(base);
        String fingerprint;
        int step;
        try {
            fingerprint = baseFiles + "|" + LoadedModels.fingerprint(checkpoint);
            step = Trainer.checkpointStep(checkpoint);
        } catch (NoSuchFileException e) {
            throw new NoCheckpoint(name);
        }
        String description = name + ", checkpoint at step " + step;
        return new Source(new LoadedModels.Key(name + ", checkpoint", fingerprint), () -> {
            LlamaModel model = loadBase(base);
            TechniqueFaults faults = new TechniqueFaults(List.of(found));
            Tuning tuning;
            try {
                tuning = faults.applyWithin(applyTimeout, found.descriptor(), () -> tuner.apply(model, config, spec.seed()));
            } catch (RuntimeException e) {
                throw blamed(List.of(found), e, "applying " + TechniqueFaults.describe(found.descriptor()));
            }
            try {
                Trainer.loadWeights(checkpoint, tuning.trainableParameters());
            } catch (NoSuchFileException e) {
                throw new NoCheckpoint(name);
            }
            return new Loaded(model, base, description, List.of(found));
        });
    }

    /**
     * The tuner a job's checkpoint or adapter is read with: the revision the job recorded. While the job runs
     * that exact version, installed because updates wait for the job; for a job that no longer
     * runs, that version if it is still installed, else the highest in the job's version range.
     */
    @SuppressWarnings("unchecked")
    private TechniqueCatalog.Found<Tuner<?>> tuner(JobInfo job) {
        JobSpec spec = job.spec();
        Optional<TechniqueDescriptor> ran = job.techniques().stream()
                .filter(d -> d.family() == TechniqueFamily.TUNER).findFirst();
        if (ran.isPresent()) {
            TechniqueDescriptor d = ran.get();
            Optional<TechniqueCatalog.Found<Tuner<?>>> same = catalog.tuner(d.name(), "[" + d.version() + "," + d.version() + "]")
                    .filter(found -> found.descriptor().bundleSymbolicName().equals(d.bundleSymbolicName()));
            if (same.isPresent()) {
                return same.get();
            }
            if (job.state() == JobState.RUNNING) {
                throw new GenerationException(GenerationException.Reason.NOT_FOUND, "job " + job.id() + " runs with "
                        + TechniqueFaults.describe(d) + ", which is not registered right now (is it being updated?); "
                        + "try again in a moment");
            }
        }
        try {
            return catalog.tuner(spec.tuner().name(), spec.tuner().version())
                    .orElseThrow(() -> JobRun.missing(catalog, TechniqueFamily.TUNER, spec.tuner()));
        } catch (JobException e) {
            throw new GenerationException(GenerationException.Reason.NOT_FOUND, e.getMessage(), e);
        }
    }

    private Path builtIn() {
        if (!Files.isRegularFile(builtInModel.resolve("config.json"))) {
            throw new GenerationException(GenerationException.Reason.NOT_FOUND, "the built-in model does not exist yet ("
                    + builtInModel + "); create it with ./gradus pretrain, or name a model folder");
        }
        return builtInModel;
    }

    private static Path existing(String folder, String field) {
        Path path = Path.of(folder).toAbsolutePath().normalize();
        if (!Files.isDirectory(path)) {
            throw new GenerationException(GenerationException.Reason.NOT_FOUND, field + ": " + path + " is not a folder");
        }
        return path;
    }
}
