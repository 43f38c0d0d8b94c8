package io.gradus.cli;

import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Sampling;
import io.gradus.core.llama.Generator;
import io.gradus.core.llama.LlamaModel;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gradus generate}: continues a prompt with a model, printing the text as it comes. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Continue a prompt with a model (greedy by default; sampling with --temperature, --top-k, --top-p).")
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions options;

    @Option(names = "--prompt", required = true, description = "The text to continue.")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Sample from the k most likely tokens (0 = all).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass (1 = all). Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--seed", defaultValue = "42", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() throws Exception {
        Sampling sampling;
        try {
            sampling = new Sampling(temperature, topK, topP, maxNewTokens, seed);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Path model = options.folder(spec.commandLine());
        LlamaModel llama = LlamaModel.load(model);
        PrintWriter out = spec.commandLine().getOut();
        try (HfTokenizer tokenizer = HfTokenizer.load(model); EmbeddedHost quiet = new EmbeddedHost()) {
            KernelBackend kernels = options.prepare(quiet, llama, spec.commandLine().getErr());
            int[] ids = tokenizer.encode(prompt);
            Generator generator = new Generator(llama, kernels, ids.length + maxNewTokens + 1);
            out.print(prompt);
            out.flush();
            // Decode the whole continuation each time: a character may span several byte tokens.
            List<Integer> produced = new ArrayList<>();
            int[] printed = {0};
            generator.generate(ids, sampling, llama.config().eosTokenId(), token -> {
                produced.add(token);
                String text = tokenizer.decode(produced.stream().mapToInt(Integer::intValue).toArray(), true);
                if (text.length() > printed[0] && !text.endsWith("\uFFFD")) {
                    out.print(text.substring(printed[0]));
                    out.flush();
                    printed[0] = text.length();
                }
            });
            // Whatever was held back waiting for the rest of a character is printed as it is.
            String text = tokenizer.decode(produced.stream().mapToInt(Integer::intValue).toArray(), true);
            out.println(text.substring(Math.min(printed[0], text.length())));
            out.flush();
        }
        return 0;
    }
}
