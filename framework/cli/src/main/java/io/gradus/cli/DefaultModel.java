package io.gradus.cli;

import io.gradus.jobs.BuiltInModel;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.ParameterException;

/** The {@code --model} of commands that default to the built-in model ({@link BuiltInModel}). */
final class DefaultModel {

    private DefaultModel() {}

    /** {@code model}, or the built-in model when null; a clear error if that does not exist yet. */
    static Path orDefault(Path model, picocli.CommandLine commandLine) {
        if (model != null) {
            return model;
        }
        Path builtIn = BuiltInModel.modelFolder();
        if (!Files.isRegularFile(builtIn.resolve("config.json"))) {
            throw new ParameterException(commandLine, "no --model given and the built-in model does not exist yet ("
                    + builtIn + "); create it with: ./gradus pretrain");
        }
        return builtIn;
    }
}
