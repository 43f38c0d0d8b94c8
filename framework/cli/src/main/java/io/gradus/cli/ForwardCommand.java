package io.gradus.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.TokenBatch;
import io.gradus.core.llama.LlamaEngine;
import io.gradus.core.llama.LlamaModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gradus forward}: one forward pass over token ids, printed as JSON. */
@Command(
        name = "forward",
        mixinStandardHelpOptions = true,
        description = {
            "Run a model on a sequence of token ids and print JSON {\"logits\": [[...] per position], \"loss\": x},",
            "where loss is the mean next-token cross-entropy over the sequence (null for a single token)."
        })
final class ForwardCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions options;

    @Option(names = "--ids", required = true, split = ",", paramLabel = "IDS", hideParamSyntax = true,
            description = "Comma-separated token ids, e.g. 1,2,3.")
    List<Integer> ids;

    @Override
    public Integer call() throws Exception {
        Path model = options.folder(spec.commandLine());
        LlamaModel llama = LlamaModel.load(model);
        int vocab = llama.config().vocabSize();
        int[] tokens = ids.stream().mapToInt(Integer::intValue).toArray();
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new ParameterException(spec.commandLine(), "--ids: token " + tokens[i] + " (position " + i
                        + ") is outside the model's vocabulary of " + vocab);
            }
        }
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            KernelBackend kernels = options.prepare(quiet, llama, spec.commandLine().getErr());
            LlamaEngine engine = new LlamaEngine(llama, kernels);
            TokenBatch batch = TokenBatch.nextToken(1, tokens.length, tokens);
            float[] logits = engine.forward(batch);

            ObjectMapper json = new ObjectMapper();
            ObjectNode out = json.createObjectNode();
            ArrayNode rows = out.putArray("logits");
            for (int t = 0; t < tokens.length; t++) {
                ArrayNode row = rows.addArray();
                for (int j = 0; j < vocab; j++) {
                    row.add(logits[t * vocab + j]);
                }
            }
            int labelled = batch.countLabels();
            if (labelled > 0) {
                out.put("loss", kernels.crossEntropy(logits, tokens.length, vocab, batch.labels(), null, 1f) / labelled);
            } else {
                out.putNull("loss");
            }
            PrintWriter writer = spec.commandLine().getOut();
            writer.println(json.writeValueAsString(out));
            writer.flush();
        }
        return 0;
    }
}
