package io.gradus.host;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Version ranges of package requirements, for bundle details")
class BundleWiringViewTest {

    @Test
    @DisplayName("reads the range back from a requirement's filter, as the framework writes it")
    void ranges() {
        assertThat(BundleWiringView.range("(&(osgi.wiring.package=io.gradus.api.technique)(version>=1.2.0)(!(version>=2.0.0)))"))
                .isEqualTo("[1.2.0,2.0.0)");
        assertThat(BundleWiringView.range("(&(osgi.wiring.package=com.example)(version>=1.0.0))")).isEqualTo("1.0.0");
        assertThat(BundleWiringView.range("(&(osgi.wiring.package=com.example)(!(version>=3.0.0)))")).isEqualTo("[0.0.0,3.0.0)");
        assertThat(BundleWiringView.range("(osgi.wiring.package=com.example)")).isEqualTo("any");
    }
}
