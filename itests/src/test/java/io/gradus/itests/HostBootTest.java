package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.kernel.KernelBackend;
import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.runtime.BundleInfo;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import io.gradus.host.GradusHost;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.osgi.framework.ServiceReference;

@DisplayName("The host boots the distribution")
class HostBootTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @Test
    @DisplayName("every bundle resolves and is ACTIVE, runtime, console, kernels and techniques alike")
    void everyBundleIsActive() {
        List<BundleInfo> bundles = HOST.host().bundleAdmin().bundles();

        assertThat(bundles).allSatisfy(b -> assertThat(b.state()).as(b.symbolicName() + " " + b.problem()).isEqualTo("ACTIVE"));
        assertThat(bundles).extracting(BundleInfo::symbolicName).contains(
                "org.apache.felix.scr",
                "org.apache.felix.configadmin",
                "io.gradus.console",
                "io.gradus.tornado.kernels",
                "io.gradus.plugin.full",
                "io.gradus.plugin.pretrain",
                "io.gradus.plugin.lora",
                "io.gradus.plugin.adapters",
                "io.gradus.plugin.qlora",
                "io.gradus.plugin.sft");
        assertThat(HOST.host().problems()).isEmpty();
    }

    @Test
    @DisplayName("techniques are found by name and version range in the service registry, and they work")
    void techniquesAreFoundByName() {
        TechniqueCatalog catalog = HOST.host().catalog();

        var full = catalog.tuner("full", "[1.0,2.0)").orElseThrow();
        assertThat(full.descriptor().bundleSymbolicName()).isEqualTo("io.gradus.plugin.full");
        assertThat(catalog.objective("pretrain", null)).isPresent();
        assertThat(catalog.tuner("full", "[2.0,3.0)")).as("no full tuner 2.x is installed").isEmpty();
        assertThat(catalog.tuner("pretrain", null)).as("pretrain is an objective, not a tuner").isEmpty();

        // The service from the bundle is usable from the host's class space: one API, one set of classes.
        List<Parameter> parameters = List.of(new Parameter("w", new int[] {2, 3}, new float[6]));
        Model model = Model.of(parameters);
        @SuppressWarnings("unchecked")
        Tuner<Object> tuner = (Tuner<Object>) full.technique();
        Object config = RunningHost.JSON.convertValue(Map.of(), tuner.configType());
        Tuning tuning = tuner.apply(model, config);
        assertThat(tuning.trainableCount()).isEqualTo(6);
        assertThat(parameters.getFirst().trainable()).isTrue();
    }

    @Test
    @DisplayName("the CPU kernel backend is registered as a service")
    void kernelBackendIsRegistered() throws Exception {
        var refs = HOST.host().context().getServiceReferences(KernelBackend.class, "(" + KernelBackend.NAME_PROPERTY + "=cpu)");
        assertThat(refs).hasSize(1);
        ServiceReference<KernelBackend> ref = refs.iterator().next();
        KernelBackend cpu = HOST.host().context().getService(ref);
        try {
            // Two rows of uniform logits over 4 tokens: loss log(4) each.
            double loss = cpu.crossEntropy(new float[8], 2, 4, new int[] {1, 2}, null, 1f);
            assertThat(loss).isCloseTo(2 * Math.log(4), org.assertj.core.api.Assertions.within(1e-6));
        } finally {
            HOST.host().context().ungetService(ref);
        }
    }

    @Test
    @DisplayName("GET /api/bundles lists every bundle with its version, state and techniques")
    void consoleListsBundles() throws Exception {
        RunningHost.Response response = HOST.send("GET", "/api/bundles", null, null);

        assertThat(response.status()).isEqualTo(200);
        JsonNode full = StreamSupport.stream(response.json().spliterator(), false)
                .filter(b -> b.get("symbolicName").asText().equals("io.gradus.plugin.full"))
                .findFirst().orElseThrow();
        assertThat(full.get("version").asText()).isEqualTo("1.0.0");
        assertThat(full.get("state").asText()).isEqualTo("ACTIVE");
        assertThat(full.at("/techniques/0/name").asText()).isEqualTo("full");
        assertThat(full.at("/techniques/0/family").asText()).isEqualTo("tuner");
        assertThat(response.json().size()).isEqualTo(HOST.host().bundleAdmin().bundles().size());
    }

    @Test
    @DisplayName("a second host on the same state folder is refused with a clear message")
    void secondHostOnSameStateIsRefused() {
        var settings = HOST.host().settings().withConsole("127.0.0.1", -1);
        assertThatThrownBy(() -> GradusHost.start(settings))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("another Gradus host is already running");
        assertThat(HOST.host().bundleAdmin().bundles()).allSatisfy(b -> assertThat(b.state()).isEqualTo("ACTIVE"));
    }

    @Test
    @DisplayName("the console serves its page")
    void consoleServesPage() throws Exception {
        var response = HOST.http().send(
                java.net.http.HttpRequest.newBuilder(HOST.url("/")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
        assertThat(response.body()).contains("<title>Gradus console</title>", "<script type=\"module\" src=\"/ui/app.js\">");
        var script = HOST.http().send(java.net.http.HttpRequest.newBuilder(HOST.url("/ui/app.js")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(script.body()).contains("new EventSource(\"/api/events\")");
    }
}
