package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code .ci/run} may not hide a failed install: the tests that need a tool skip without it, so a
 * swallowed failure would turn into silent skips. Every install step must stop the script when it
 * fails, and the script must set GRADUS_CI, under which those tests fail instead of skipping.
 */
class CiScriptTest {

    private static final Path SCRIPT = Path.of("../.ci/run");

    @Test
    @DisplayName(".ci/run stops on a failed install and tells the tests they run under CI")
    void installsOrFails() throws Exception {
        List<String> lines = Files.readAllLines(SCRIPT);
        assertThat(lines).as("set -e").anyMatch(l -> l.startsWith("set -euo pipefail"));
        assertThat(lines).as("exports GRADUS_CI").contains("export GRADUS_CI=1");
        // An install command (apt-get install, npm ci) may be followed by "||" only to stop the script.
        Pattern install = Pattern.compile("apt-get (update|install)|apt_install|npm ci");
        Pattern swallow = Pattern.compile("\\|\\|\\s*(echo|true|:)(\\s|$)");
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String continued = line.endsWith("\\") && i + 1 < lines.size() ? line + lines.get(i + 1) : line;
            if (install.matcher(line).find()) {
                assertThat(continued).as(".ci/run line %d swallows a failed install", i + 1).doesNotContainPattern(swallow);
            }
        }
    }
}
