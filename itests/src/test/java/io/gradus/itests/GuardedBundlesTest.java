package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.runtime.BundleInfo;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("The host's own bundles are guarded: changed only when forced")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GuardedBundlesTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    private static final List<String> HOST_BUNDLES = List.of(
            "io.gradus.console", "io.gradus.tornado.kernels", "org.apache.felix.scr", "org.apache.felix.configadmin");

    @Test
    @Order(1)
    @DisplayName("the framework, the console, the kernels and the other bundles of system/ are guarded; technique bundles are not")
    void whoIsGuarded() throws Exception {
        assertThat(HOST.host().bundleAdmin().bundle(0)).hasValueSatisfying(b -> assertThat(b.guarded()).isTrue());
        for (String name : HOST_BUNDLES) {
            assertThat(bundle(name).guarded()).as(name).isTrue();
        }
        assertThat(bundle("io.gradus.plugin.full").guarded()).isFalse();
        var json = HOST.send("GET", "/api/bundles/" + bundle("io.gradus.console").id(), null, null).json();
        assertThat(json.get("guarded").asBoolean()).isTrue();
        assertThat(json.get("usedBy").isArray()).isTrue();
        assertThat(json.get("pending").isNull()).isTrue();
    }

    @Test
    @Order(2)
    @DisplayName("stopping, updating or removing one of them through the API is refused with 409, and it keeps running")
    void refusedWithoutForce() throws Exception {
        for (String name : HOST_BUNDLES) {
            long id = bundle(name).id();
            for (var call : List.of(
                    HOST.send("POST", "/api/bundles/" + id + "/stop", null, HOST.token()),
                    HOST.send("POST", "/api/bundles/" + id + "/update", null, HOST.token()),
                    HOST.send("DELETE", "/api/bundles/" + id, null, HOST.token()),
                    HOST.send("POST", "/api/bundles/" + id + "/stop?force=false", null, HOST.token()))) {
                assertThat(call.status()).as(name + ": " + call.json()).isEqualTo(409);
                assertThat(call.json().get("error").asText()).contains(name, "one of the host's own bundles", "force");
            }
            assertThat(bundle(name).state()).as(name).isEqualTo("ACTIVE");
        }
        assertThat(HOST.send("POST", "/api/bundles/0/stop?force=true", null, HOST.token()).status())
                .as("the framework itself, even forced").isEqualTo(409);
        assertThat(HOST.send("GET", "/api/bundles", null, null).status()).as("the console still answers").isEqualTo(200);
    }

    @Test
    @Order(3)
    @DisplayName("forced, the kernels bundle stops; started again, it runs")
    void forcedStop() throws Exception {
        long id = bundle("io.gradus.tornado.kernels").id();
        RunningHost.Response stopped = HOST.send("POST", "/api/bundles/" + id + "/stop?force=true", null, HOST.token());
        assertThat(stopped.status()).as(stopped.json().toString()).isEqualTo(200);
        assertThat(stopped.json().get("state").asText()).isEqualTo("RESOLVED");
        RunningHost.Response started = HOST.send("POST", "/api/bundles/" + id + "/start", null, HOST.token());
        assertThat(started.json().get("state").asText()).isEqualTo("ACTIVE");
    }

    @Test
    @Order(4)
    @DisplayName("a forced stop of the console through its own API answers 202 before the console goes; the host can start it again")
    void forcedStopOfTheConsole() throws Exception {
        long id = bundle("io.gradus.console").id();
        RunningHost.Response stopping = HOST.send("POST", "/api/bundles/" + id + "/stop?force=true", null, HOST.token());
        assertThat(stopping.status()).isEqualTo(202);
        assertThat(stopping.json().get("accepted").asText()).isEqualTo("stop");
        await("the console bundle is stopped", 30, () -> bundle("io.gradus.console").state().equals("RESOLVED"));
        assertThat(HOST.host().awaitConsole(java.time.Duration.ofMillis(200))).as("no console any more").isEmpty();

        assertThat(HOST.host().bundleAdmin().start(id).state()).isEqualTo("ACTIVE");
        HOST.findConsole();
        assertThat(HOST.send("GET", "/api/bundles", null, null).status()).as("the console answers again").isEqualTo(200);
    }

    private static BundleInfo bundle(String symbolicName) {
        return HOST.bundle(symbolicName).orElseThrow(() -> new AssertionError("no bundle " + symbolicName));
    }
}
