package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.event.Problem;
import io.gradus.api.runtime.BundleInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("Broken bundles are reported clearly and never take the host down")
class ProblemsTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @Test
    @DisplayName("an invalid jar dropped in the deploy folder is reported as a problem naming the file")
    void invalidJarInDeployFolder() throws Exception {
        Path broken = HOST.deployDir().resolve("broken.jar");
        Files.write(broken, "this is not a zip file".getBytes(StandardCharsets.UTF_8));

        await("a problem names broken.jar", 20, () -> problems().stream().anyMatch(p -> p.message().contains("broken.jar")));
        assertEverythingElseRuns();
        Files.delete(broken);
    }

    @Test
    @DisplayName("a bundle with an import nothing provides is reported with the missing package")
    void unsatisfiableImportInDeployFolder() throws Exception {
        String bsn = "io.gradus.itests.unsatisfiable.folder";
        Path jar = HOST.deployDir().resolve(bsn + ".jar");
        Files.write(jar, TestBundles.unsatisfiable(bsn));

        await("the bundle is installed", 20, () -> bundle(bsn) != null);
        BundleInfo info = bundle(bsn);
        assertThat(info.state()).isEqualTo("INSTALLED");
        assertThat(info.problem()).contains("cannot resolve", "package com.example.missing", "version >= 1.0.0");
        await("a problem event names the missing package", 20,
                () -> problems().stream().anyMatch(p -> p.message().contains("com.example.missing")));
        assertEverythingElseRuns();

        Files.delete(jar);
        await("deleting the jar removes the bundle", 20, () -> bundle(bsn) == null);
    }

    @Test
    @DisplayName("through the REST API: garbage is refused with 400, an unresolvable bundle with 422 naming the import")
    void throughRestApi() throws Exception {
        RunningHost.Response garbage = HOST.send("POST", "/api/bundles", new byte[] {1, 2, 3, 4}, HOST.token());
        assertThat(garbage.status()).isEqualTo(400);
        assertThat(garbage.json().get("error").asText()).contains("not a jar");

        RunningHost.Response noUpload = HOST.send("POST", "/api/bundles", null, HOST.token());
        assertThat(noUpload.status()).isEqualTo(400);
        assertThat(noUpload.json().get("error").asText()).contains("request body");

        String bsn = "io.gradus.itests.unsatisfiable.rest";
        RunningHost.Response unresolvable = HOST.send("POST", "/api/bundles", TestBundles.unsatisfiable(bsn), HOST.token());
        assertThat(unresolvable.status()).isEqualTo(422);
        assertThat(unresolvable.json().get("error").asText()).contains(bsn, "com.example.missing");
        assertEverythingElseRuns();

        RunningHost.Response removed = HOST.send("DELETE", "/api/bundles/" + bundle(bsn).id(), null, HOST.token());
        assertThat(removed.status()).isEqualTo(200);

        RunningHost.Response unknown = HOST.send("POST", "/api/bundles/9999/start", null, HOST.token());
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.json().get("error").asText()).contains("no bundle with id 9999");

        RunningHost.Response framework = HOST.send("POST", "/api/bundles/0/stop", null, HOST.token());
        assertThat(framework.status()).isEqualTo(409);
    }

    @Test
    @DisplayName("an upload above the size limit is refused with 413 and the limit")
    void uploadLimit() throws Exception {
        RunningHost.Response tooLarge = HOST.send("POST", "/api/bundles", new byte[2_000_000], HOST.token());
        assertThat(tooLarge.status()).isEqualTo(413);
        assertThat(tooLarge.json().get("error").asText()).contains("limit");
    }

    @Test
    @DisplayName("the problems list is bounded: the newest 500 are kept, and GET /api/problems serves them")
    void problemsAreBounded() throws Exception {
        for (int i = 0; i < 700; i++) {
            HOST.host().events().publish(new Problem(Instant.now(), "flood", "flood problem " + i));
        }
        List<Problem> problems = problems();
        assertThat(problems).hasSize(500);
        assertThat(problems.getLast().message()).isEqualTo("flood problem 699");
        assertThat(problems).noneMatch(p -> p.message().equals("flood problem 199"));
        RunningHost.Response served = HOST.send("GET", "/api/problems", null, null);
        assertThat(served.json().size()).isEqualTo(500);
        assertThat(served.json().get(499).get("message").asText()).isEqualTo("flood problem 699");
        assertThat(served.json().get(499).get("source").asText()).isEqualTo("flood");
    }

    private static void assertEverythingElseRuns() throws Exception {
        List<BundleInfo> bundles = HOST.host().bundleAdmin().bundles();
        assertThat(bundles).filteredOn(b -> !b.symbolicName().contains("unsatisfiable"))
                .allSatisfy(b -> assertThat(b.state()).as(b.symbolicName()).isEqualTo("ACTIVE"));
        assertThat(HOST.host().catalog().tuner("full", null)).isPresent();
        assertThat(HOST.send("GET", "/api/bundles", null, null).status()).as("the console still answers").isEqualTo(200);
    }

    private static BundleInfo bundle(String symbolicName) {
        return HOST.host().bundleAdmin().bundles().stream()
                .filter(b -> b.symbolicName().equals(symbolicName))
                .findFirst()
                .orElse(null);
    }

    private static List<Problem> problems() {
        return HOST.host().problems();
    }
}
