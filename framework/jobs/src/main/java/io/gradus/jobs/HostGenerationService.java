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
import io.gradus.api.technique.TechniqueCatalog;
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
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * {@link GenerationService} on the engine's {@link Generator}: loads the model a request names
 * (the base, the base with a PEFT adapter, or a job's result or latest checkpoint), encodes the
 * prompt as training encodes it (BOS, then the text; a conversation through the model's chat
 * template), and streams the continuation. Each request loads its own model, so requests never
 * share the work buffers of a tuner's layers.
 */
public final class HostGenerationService implements GenerationService {

    /** How often a checkpoint that is being replaced right now is looked for again. */
    private static final int CHECKPOINT_TRIES = 5;

    private final TechniqueCatalog catalog;
    private final JobService jobs;
    private final Supplier<KernelBackend> kernels;
    private final Path builtInModel;

    /** @param builtInModel the model folder a request that names none gets */
    public HostGenerationService(TechniqueCatalog catalog, JobService jobs, Supplier<KernelBackend> kernels, Path builtInModel) {
        this.catalog = catalog;
        this.jobs = jobs;
        this.kernels = kernels;
        this.builtInModel = builtInModel;
    }

    /** A model ready to generate, the folder its tokenizer and chat template come from, and what it is. */
    private record Loaded(LlamaModel model, Path tokenizerDir, String description) {}

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
        Loaded loaded = load(request.model());
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
                generator.generate(prompt, new Generator.Sampling(settings.temperature(), settings.topK(), settings.topP(),
                        settings.seed(), settings.maxNewTokens()), eos, streamed::add);
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
     * BOS and the prompt, as SFT encodes a prompt (one BOS when the prompt's text starts with it); or
     * the conversation rendered up to the assistant's turn, as SFT encodes a conversation.
     */
    private static int[] prompt(GenerationRequest request, TokenizerAdapter text) {
        if (request.prompt() != null && !request.prompt().isEmpty()) {
            int[] ids = text.encode(request.prompt());
            return ids.length > 0 && ids[0] == text.bosId() ? ids : text.withBos(ids);
        }
        if (text.chat() == null) {
            throw new GenerationException(GenerationException.Reason.INVALID, "this model has no chat template "
                    + "Gradus can render (tokenizer_config.json); send a plain prompt instead of messages");
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
            if (!sink.accept(new GeneratedToken(count - 1, id, piece))) {
                throw new Stopped();
            }
        }

        int[] ids() {
            return Arrays.copyOf(ids, count);
        }
    }

    private Loaded load(ModelSource source) {
        try {
            if (source.job() != null) {
                return fromJob(source.job());
            }
            Path base = source.base() != null ? existing(source.base(), "model.base") : builtIn();
            LlamaModel model = LlamaModel.load(base);
            if (source.adapter() == null) {
                return new Loaded(model, base, "base " + base);
            }
            Path adapter = existing(source.adapter(), "model.adapter");
            Adapters.apply(model, adapter, catalog);
            return new Loaded(model, base, "base " + base + " with adapter " + adapter);
        } catch (IOException e) {
            throw new GenerationException(GenerationException.Reason.FAILED, e.getMessage(), e);
        }
    }

    /** A finished job's result; otherwise its latest checkpoint applied to the job's base model. */
    private Loaded fromJob(String id) throws IOException {
        JobInfo job = jobs.job(id).orElseThrow(() -> new GenerationException(GenerationException.Reason.NOT_FOUND,
                "there is no job with id " + id));
        JobSpec spec = job.spec();
        Path base = spec.model() != null ? Path.of(spec.model()) : builtIn();
        String name = "job " + id + " (" + job.name() + ")";
        if (job.state() == JobState.SUCCEEDED && job.result() != null) {
            Path result = Path.of(job.result());
            if (Files.isRegularFile(result.resolve("adapter_config.json"))) {
                LlamaModel model = LlamaModel.load(base);
                Adapters.apply(model, result, catalog);
                return new Loaded(model, base, name + ", its adapter " + result);
            }
            return new Loaded(LlamaModel.load(result), base, name + ", its model " + result);
        }
        Path checkpoint = Path.of(job.output()).resolve(OutputFolder.CHECKPOINT);
        Tuner<Object> tuner = tuner(spec);
        Object config = JobRun.bind(tuner, spec.tuner(), "tuner");
        // The checkpoint folder is replaced (renamed) at every checkpoint: look again when it is between two.
        for (int attempt = 1; attempt <= CHECKPOINT_TRIES; attempt++) {
            if (Files.isDirectory(checkpoint)) {
                try {
                    int step = Trainer.checkpointStep(checkpoint);
                    LlamaModel model = LlamaModel.load(base);
                    Tuning tuning = tuner.apply(model, config, spec.seed());
                    Trainer.loadWeights(checkpoint, tuning.trainableParameters());
                    return new Loaded(model, base, name + ", checkpoint at step " + step);
                } catch (NoSuchFileException e) {
                    // replaced while we read it
                }
            }
            try {
                Thread.sleep(50L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GenerationException(GenerationException.Reason.FAILED, "interrupted while loading " + name, e);
            }
        }
        throw new GenerationException(GenerationException.Reason.NOT_FOUND, name + " has no checkpoint yet (it writes "
                + "one every tenth of its steps); try again in a moment");
    }

    @SuppressWarnings("unchecked")
    private Tuner<Object> tuner(JobSpec spec) {
        try {
            return (Tuner<Object>) catalog.tuner(spec.tuner().name(), spec.tuner().version())
                    .orElseThrow(() -> JobRun.missing(catalog, TechniqueFamily.TUNER, spec.tuner()))
                    .technique();
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
