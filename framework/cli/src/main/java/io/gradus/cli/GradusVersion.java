package io.gradus.cli;

import picocli.CommandLine.IVersionProvider;

/** Reports the host's version from its jar manifest, and the Java it runs on. */
final class GradusVersion implements IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {"Gradus " + Distribution.version(), "Java " + Runtime.version()};
    }
}
