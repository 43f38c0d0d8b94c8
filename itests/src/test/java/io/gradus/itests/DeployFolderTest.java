package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.runtime.BundleInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("One bad file in the deploy folder never breaks a working technique")
class DeployFolderTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @Test
    @DisplayName("a jar overwritten by a broken, truncated or foreign file keeps its last good revision running, with the problem on the bundle and in /api/problems until a good file replaces it")
    void badReplacementKeepsLastGoodRevision() throws Exception {
        String bsn = TestBundles.SAMPLE + ".keep";
        Path file = HOST.deploySample(bsn);
        long id = HOST.bundle(bsn).orElseThrow().id();
        byte[] next = TestBundles.sample(bsn, "1.1.0");

        List<byte[]> badFiles = List.of(
                "this is not a zip file".getBytes(),
                TestBundles.sample(TestBundles.SAMPLE + ".stranger", "1.0.0"),
                Arrays.copyOf(next, next.length / 2),      // cut inside the entries
                Arrays.copyOf(next, next.length - 10),     // every entry there, the zip's directory cut off
                TestBundles.unsatisfiable(bsn));           // a valid bundle that does not resolve: back to the last good one
        List<String> reasons = List.of("not a jar file", "not a version of " + bsn, "jar file", "central directory",
                "would not run (cannot resolve: nothing installed provides package com.example.missing");
        String previous = null;
        for (int i = 0; i < badFiles.size(); i++) {
            String reason = reasons.get(i);
            String before = previous;
            HOST.deploy(bsn + ".jar", badFiles.get(i));
            await("the bundle's problem says " + reason, 20, () -> HOST.bundle(bsn).map(BundleInfo::problem)
                    .filter(p -> p != null && !p.equals(before) && p.contains(reason)).isPresent());
            BundleInfo info = HOST.bundle(bsn).orElseThrow();
            previous = info.problem();
            assertThat(info.id()).isEqualTo(id);
            assertThat(info.version()).isEqualTo("1.0.0");
            assertThat(info.state()).isEqualTo("ACTIVE");
            assertThat(info.problem()).contains(file.toString(), "keeps running its last good revision");
            assertThat(HOST.host().catalog().tuner("sample", null)).as("the technique is still there").isPresent();
            assertThat(problemsNaming(file)).singleElement().satisfies(p -> assertThat(p.get("message").asText()).contains(reason));
        }

        HOST.deploy(bsn + ".jar", next);
        await("1.1.0 runs", 20, () -> HOST.running(bsn, "1.1.0"));
        assertThat(HOST.bundle(bsn).orElseThrow().id()).isEqualTo(id);
        assertThat(HOST.bundle(bsn).orElseThrow().problem()).as("fixed: no problem left on the bundle").isNull();
        assertThat(problemsNaming(file)).as("fixed: no problem left in /api/problems").isEmpty();

        HOST.undeploy(file, bsn);
    }

    @Test
    @DisplayName("a truncated copy beside the real jar is reported as what it is, and the real bundle is untouched")
    void truncatedCopyIsReportedTruly() throws Exception {
        String bsn = TestBundles.SAMPLE + ".truecopy";
        byte[] jar = TestBundles.sample(bsn, "1.0.0");
        HOST.deploy(bsn + ".jar", jar);
        await("the bundle runs", 20, () -> HOST.running(bsn, "1.0.0"));

        Path copy = HOST.deploy("copy-of-" + bsn + ".jar", Arrays.copyOf(jar, jar.length - 10));
        await("a problem names the copy", 20, () -> !problemsNaming(copy).isEmpty());
        String message = problemsNaming(copy).getFirst().get("message").asText();
        assertThat(message).contains("not a complete jar file", "it is not installed");
        assertThat(message).doesNotContain("which is not installed");
        assertThat(HOST.bundle(bsn).orElseThrow().problem()).isNull();
        assertThat(HOST.running(bsn, "1.0.0")).isTrue();

        Files.delete(copy);
        await("deleting the copy clears its problem", 20, () -> problemsNaming(copy).isEmpty());
        assertThat(HOST.running(bsn, "1.0.0")).as("and leaves the bundle alone").isTrue();
        HOST.undeploy(HOST.deployDir().resolve(bsn + ".jar"), bsn);
    }

    @Test
    @DisplayName("a second file with a deployed symbolic name is reported and not installed; deleting it leaves the bundle; it takes over when the first file goes")
    void duplicateSymbolicNames() throws Exception {
        String bsn = TestBundles.SAMPLE + ".dup";
        Path first = HOST.deploySample(bsn);
        long id = HOST.bundle(bsn).orElseThrow().id();

        Path second = HOST.deploy("renamed-copy.jar", TestBundles.sample(bsn, "1.1.0"));
        await("a problem names the second file", 20, () -> !problemsNaming(second).isEmpty());
        assertThat(problemsNaming(second).getFirst().get("message").asText())
                .contains(bsn + " 1.1.0", "already installed from " + first, "it is not installed");
        assertThat(HOST.host().bundleAdmin().bundles()).filteredOn(b -> b.symbolicName().equals(bsn))
                .as("one bundle per symbolic name").singleElement()
                .satisfies(b -> assertThat(b.version()).isEqualTo("1.0.0"));

        Files.delete(second);
        await("deleting the second file clears its problem", 20, () -> problemsNaming(second).isEmpty());
        assertThat(HOST.bundle(bsn)).as("the bundle of the first file stays").hasValueSatisfying(b -> assertThat(b.id()).isEqualTo(id));
        Thread.sleep(2 * 500); // two polls: nothing else happens
        assertThat(HOST.running(bsn, "1.0.0")).isTrue();

        HOST.deploy("renamed-copy.jar", TestBundles.sample(bsn, "1.1.0"));
        await("the copy is refused again", 20, () -> !problemsNaming(second).isEmpty());
        Files.delete(first);
        await("once the first file is gone, the copy is installed", 20, () -> HOST.running(bsn, "1.1.0"));
        assertThat(HOST.bundle(bsn).orElseThrow().location()).endsWith("renamed-copy.jar");
        assertThat(problemsNaming(second)).isEmpty();
        HOST.undeploy(second, bsn);
    }

    @Test
    @DisplayName("a jar whose symbolic name is not a valid one (a path) is refused with the reason")
    void invalidSymbolicNameInDeployFolder() throws Exception {
        Path file = HOST.deploy("traversal.jar", TestBundles.withRawSymbolicName("../../escaped"));
        await("a problem names the file", 20, () -> !problemsNaming(file).isEmpty());
        assertThat(problemsNaming(file).getFirst().get("message").asText())
                .contains("'../../escaped' is not a valid symbolic name", "it is not installed");
        assertThat(HOST.host().bundleAdmin().bundles()).noneMatch(b -> String.valueOf(b.symbolicName()).contains("escaped"));
        Files.delete(file);
        await("its problem goes with it", 20, () -> problemsNaming(file).isEmpty());
    }



    /** The problems served by {@code GET /api/problems} that name {@code file}. */
    static List<JsonNode> problemsNaming(Path file) {
        try {
            RunningHost.Response response = HOST.send("GET", "/api/problems", null, null);
            assertThat(response.status()).isEqualTo(200);
            return StreamSupport.stream(response.json().spliterator(), false)
                    .filter(p -> p.get("message").asText().contains(file.toString()))
                    .toList();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
