package io.gradus.host;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleException;

@DisplayName("What the framework says, in words")
class BundleDiagnosisTest {

    @Test
    @DisplayName("the Java exception names Felix writes into its messages are taken out")
    void reasonWithoutClassNames() {
        // Felix's message for a Require-Capability filter that does not parse, as the bundle-manifest fuzzer found it.
        BundleException felix = new BundleException("Error creating requirement: java.lang.IllegalArgumentException: "
                + "Missing opening parenthesis: #(a=b)");
        assertThat(BundleDiagnosis.reason(felix)).isEqualTo("Error creating requirement: Missing opening parenthesis: #(a=b)");
        assertThat(BundleDiagnosis.reason(new BundleException("Unable to parse: org.osgi.framework.InvalidSyntaxException: bad")))
                .isEqualTo("Unable to parse: bad");
        assertThat(BundleDiagnosis.reason(new BundleException("Unknown 'Bundle-ManifestVersion' value: 3")))
                .as("a message without class names is left as it is").isEqualTo("Unknown 'Bundle-ManifestVersion' value: 3");
        // Felix wraps the reason an update or install fails in a message that does not say it.
        assertThat(BundleDiagnosis.reason(new BundleException("Update of bundle my.technique [32] failed.",
                new BundleException("Imported package names cannot be zero length."))))
                .isEqualTo("Update of bundle my.technique [32] failed: Imported package names cannot be zero length");
        assertThat(BundleDiagnosis.reason(new BundleException("Activator start error in bundle a [7].",
                new ClassNotFoundException("no.such.Activator not found by a [7]"))))
                .isEqualTo("Activator start error in bundle a [7]: no.such.Activator not found by a [7]");
        assertThat(BundleDiagnosis.reason(new BundleException(null, new IllegalStateException("the cause says why"))))
                .isEqualTo("the cause says why");
        assertThat(BundleDiagnosis.reason(new BundleException(null))).isEqualTo("the framework gave no reason");
    }
}
