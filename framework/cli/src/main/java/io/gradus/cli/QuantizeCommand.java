package io.gradus.cli;

import io.gradus.api.kernel.Nf4;
import io.gradus.api.model.LinearTransform;
import io.gradus.api.model.QuantizedLinear;
import io.gradus.core.io.BitsAndBytesNf4;
import io.gradus.core.io.WeightFiles;
import io.gradus.core.llama.LlamaModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradus quantize}: a model folder with its linear weights in 4-bit NF4, in the layout
 * transformers + bitsandbytes save and load ({@link BitsAndBytesNf4}). Each weight is quantized as
 * soon as it is read, so the float model never exists in full; embeddings, norms and the output head
 * stay in float, as bitsandbytes leaves them.
 */
@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = {
            "Quantize a model's linear weights to 4-bit NF4, in a folder bitsandbytes loads.",
            "Writes bitsandbytes' tensors and config.json's quantization_config; embeddings,",
            "norms and lm_head stay in float; the tokenizer files are copied."
        })
final class QuantizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder in float (default: the built-in model of gradus pretrain).")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR2", description = "The folder to write (new or empty).")
    Path out;

    @Option(names = "--no-double-quant",
            description = "Keep one float scale per block (0.5625 bytes per weight) instead of quantizing the scales to 8 bits (about 0.516).")
    boolean noDoubleQuant;

    @Option(names = "--blocksize", defaultValue = "64", paramLabel = "N",
            description = "Weights per scale: 32, 64, 128, ... 4096, as bitsandbytes takes. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Override
    public Integer call() throws Exception {
        if (!Nf4.BLOCK_SIZES.contains(blockSize)) {
            throw new ParameterException(spec.commandLine(), "--blocksize must be one of bitsandbytes' " + Nf4.BLOCK_SIZES
                    + "; was " + blockSize);
        }
        Path source = DefaultModel.orDefault(model, spec.commandLine());
        if (BitsAndBytesNf4.declaredIn(source.resolve("config.json"))) {
            throw new ParameterException(spec.commandLine(), source + " is quantized already (bitsandbytes NF4)");
        }
        if (Files.exists(out) && !isEmptyFolder(out)) {
            throw new ParameterException(spec.commandLine(), "--out " + out + " exists and is not an empty folder");
        }
        long filesBefore = weightFileBytes(source);
        long[] values = {0};
        int[] count = {0};
        boolean doubleQuant = !noDoubleQuant;
        LinearTransform quantize = (name, loaded) -> {
            // A folder of float weights: every linear module is loaded dense, with its weight [out, in].
            QuantizedLinear quantized = QuantizedLinear.nf4(loaded.parameters().getFirst(), blockSize, doubleQuant);
            values[0] += quantized.weight().size();
            count[0]++;
            return quantized;
        };
        LlamaModel quantized = LlamaModel.load(source, quantize);
        Files.createDirectories(out);
        quantized.save(out, source);
        long nf4Bytes = quantized.quantizedWeights().stream().mapToLong(w -> w.bytes()).sum();

        PrintWriter terminal = spec.commandLine().getOut();
        terminal.printf("quantized %d linear weights of %s to NF4 (blocks of %d, %s) as they were read%n", count[0], source,
                blockSize, doubleQuant ? "double quantization" : "float scales");
        terminal.printf("  linear weights: %,d values, %,d bytes in float32 -> %,d bytes in NF4 (%.4f bytes per weight)%n",
                values[0], 4 * values[0], nf4Bytes, (double) nf4Bytes / values[0]);
        terminal.printf("  weight files: %,d bytes -> %,d bytes%n", filesBefore, weightFileBytes(out));
        try (Stream<Path> files = Files.list(out)) {
            terminal.println("wrote " + out + ": " + String.join(", ", files.map(f -> f.getFileName().toString()).sorted()
                    .toList()));
        }
        terminal.flush();
        return 0;
    }

    private static boolean isEmptyFolder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    /** Bytes of the safetensors files holding a model folder's weights (one file or the shards of an index). */
    private static long weightFileBytes(Path dir) throws IOException {
        List<Path> paths;
        try (WeightFiles files = WeightFiles.open(dir)) {
            paths = files.paths();
        }
        long bytes = 0;
        for (Path p : paths) {
            bytes += Files.size(p);
        }
        return bytes;
    }
}
