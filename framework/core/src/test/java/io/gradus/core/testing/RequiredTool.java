package io.gradus.core.testing;

import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * For tests that need a tool outside the JVM (a headless browser, PyTorch, Node.js packages): on a
 * developer's machine without the tool such a test is skipped, with the reason; under CI it fails.
 * CI ({@code .ci/run}) installs every such tool and sets {@value #CI_VARIABLE}, so a failed install
 * can never pass as a skipped test.
 */
public final class RequiredTool {

    /** The environment variable {@code .ci/run} sets: every tool a test needs must be there. */
    public static final String CI_VARIABLE = "GRADUS_CI";

    private RequiredTool() {}

    /**
     * Continues when {@code present}; otherwise fails under CI and skips elsewhere.
     *
     * @param missing what is missing and how to install it, e.g. "no headless browser (apt-get install chromium)"
     */
    public static void require(boolean present, String missing) {
        require(present, missing, System.getenv());
    }

    /** As {@link #require(boolean, String)}, in the environment {@code env}. */
    static void require(boolean present, String missing, Map<String, String> env) {
        if (present) {
            return;
        }
        if (env.containsKey(CI_VARIABLE)) {
            Assertions.fail(missing + "; " + CI_VARIABLE + " is set, so a missing tool fails the test instead of skipping it"
                    + " (.ci/run installs it: see its log for the failed install)");
        }
        Assumptions.abort("skipped: " + missing);
    }
}
