package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.osgi.framework.Bundle;

@DisplayName("Removed bundles leave nothing behind")
class BundleLeakTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @Test
    @DisplayName("a technique bundle installed, started and removed again and again is garbage collected every time")
    void removedBundlesAreCollected() throws Exception {
        byte[] jar = TestBundles.sample(TestBundles.SAMPLE + ".leak", "1.0.0");
        List<WeakReference<Bundle>> removed = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            var installed = HOST.send("POST", "/api/bundles", jar, HOST.token());
            assertThat(installed.status()).as(installed.json().toString()).isEqualTo(201);
            long id = installed.json().get("id").asLong();
            assertThat(installed.json().get("state").asText()).isEqualTo("ACTIVE");
            removed.add(new WeakReference<>(HOST.host().context().getBundle(id)));
            assertThat(HOST.send("DELETE", "/api/bundles/" + id, null, HOST.token()).status()).isEqualTo(200);
        }
        // Felix 7.0.5 kept each one in its service registry's usage map (see StaleServiceUsages).
        RunningHost.await("every removed bundle is collected", 30, () -> {
            System.gc();
            return removed.stream().allMatch(r -> r.get() == null);
        });
    }
}
