package io.gradus.core.testing;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class RequiredToolTest {

    @Test
    @DisplayName("a missing tool skips a test on a developer's machine and fails it under CI")
    void skipsOrFails() {
        assertThatThrownBy(() -> RequiredTool.require(false, "no chromium", Map.of()))
                .isInstanceOf(TestAbortedException.class).hasMessage("skipped: no chromium");
        assertThatThrownBy(() -> RequiredTool.require(false, "no chromium", Map.of(RequiredTool.CI_VARIABLE, "1")))
                .isInstanceOf(AssertionFailedError.class).hasMessageStartingWith("no chromium; GRADUS_CI is set");
        assertThatCode(() -> RequiredTool.require(true, "no chromium", Map.of(RequiredTool.CI_VARIABLE, "1")))
                .doesNotThrowAnyException();
    }
}
