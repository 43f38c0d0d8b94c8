package io.gradus.itests;

import static io.gradus.itests.RunningHost.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.event.GradusEvent;
import io.gradus.api.event.TechniqueChanged;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;

@DisplayName("A technique bundle is hot-swapped from 1.0.0 to 1.1.0 while the host runs")
class HotSwapTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    private static final long PID = ProcessHandle.current().pid();

    @Test
    @DisplayName("through the deploy folder: replacing the jar updates the bundle in place and swaps its service")
    void throughDeployFolder() throws Exception {
        String bsn = TestBundles.SAMPLE + ".folder";
        String jarName = bsn + ".jar";
        Bundle framework = HOST.host().context().getBundle(0);
        long frameworkStarted = framework.getLastModified();

        Path jar = HOST.deploy(jarName, TestBundles.sample(bsn, "1.0.0"));
        await("the sample technique 1.0.0 is registered", 20, () -> sampleVersion().equals(Optional.of("1.0.0")));
        TechniqueDescriptor before = HOST.host().catalog().tuner("sample", null).orElseThrow().descriptor();

        // A consumer that tracks the technique the way a job would.
        try (var consumer = new SampleConsumer()) {
            ServiceReference<Tuner<?>> oldReference = consumer.tracker.getServiceReference();
            assertThat(oldReference.getBundle().getVersion()).hasToString("1.0.0");
            int eventsBefore = HOST.events().size();

            HOST.deploy(jarName, TestBundles.sample(bsn, "1.1.0"));
            await("the sample technique 1.1.0 replaces 1.0.0", 20, () -> sampleVersion().equals(Optional.of("1.1.0")));
            await("the consumer sees 1.1.0", 10, () -> consumer.currentVersion().equals("1.1.0"));

            TechniqueDescriptor after = HOST.host().catalog().tuner("sample", null).orElseThrow().descriptor();
            assertThat(after.bundleId()).as("updated in place: same bundle id").isEqualTo(before.bundleId());
            assertThat(HOST.host().catalog().techniques()).filteredOn(t -> t.name().equals("sample")).hasSize(1);
            assertThat(oldReference.getBundle()).as("the 1.0.0 service is unregistered").isNull();
            assertThat(consumer.tracker.getServiceReferences()).hasSize(1);
            assertThat(techniqueChanges(HOST.events().subList(eventsBefore, HOST.events().size())))
                    .containsSubsequence("UNREGISTERED sample 1.0.0", "REGISTERED sample 1.1.0");
        }
        assertThat(framework.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(framework.getLastModified()).as("the framework never restarted").isEqualTo(frameworkStarted);
        assertThat(ProcessHandle.current().pid()).isEqualTo(PID);

        Files.delete(jar);
        await("deleting the jar removes the technique", 20, () -> sampleVersion().isEmpty());
        // The service goes when the bundle stops, the bundle a moment later when it is uninstalled.
        await("and the bundle", 20, () -> HOST.host().bundleAdmin().bundles().stream()
                .noneMatch(b -> b.symbolicName().equals(bsn)));
    }

    @Test
    @DisplayName("through the REST API: install 1.0.0, update to 1.1.0 in place, remove")
    void throughRestApi() throws Exception {
        String bsn = TestBundles.SAMPLE + ".rest";

        RunningHost.Response installed = HOST.send("POST", "/api/bundles", TestBundles.sample(bsn, "1.0.0"), HOST.token());
        assertThat(installed.status()).as(installed.json().toString()).isEqualTo(201);
        long id = installed.json().get("id").asLong();
        assertThat(installed.json().get("version").asText()).isEqualTo("1.0.0");
        assertThat(installed.json().get("state").asText()).isEqualTo("ACTIVE");
        await("the sample technique 1.0.0 is registered", 10, () -> sampleVersion().equals(Optional.of("1.0.0")));
        assertThat(HOST.deployDir().resolve(bsn + ".jar")).as("persisted in the deploy folder").exists();

        RunningHost.Response again = HOST.send("POST", "/api/bundles", TestBundles.sample(bsn, "1.0.0"), HOST.token());
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().get("error").asText()).contains("already installed");

        try (var consumer = new SampleConsumer()) {
            RunningHost.Response updated = HOST.send(
                    "POST", "/api/bundles/" + id + "/update", TestBundles.sample(bsn, "1.1.0"), HOST.token());
            assertThat(updated.status()).as(updated.json().toString()).isEqualTo(200);
            assertThat(updated.json().get("id").asLong()).isEqualTo(id);
            assertThat(updated.json().get("version").asText()).isEqualTo("1.1.0");
            await("the consumer sees 1.1.0", 10, () -> consumer.currentVersion().equals("1.1.0"));
            assertThat(HOST.host().catalog().techniques()).filteredOn(t -> t.name().equals("sample"))
                    .singleElement().satisfies(t -> assertThat(t.version()).isEqualTo("1.1.0"));
        }

        RunningHost.Response removed = HOST.send("DELETE", "/api/bundles/" + id, null, HOST.token());
        assertThat(removed.status()).isEqualTo(200);
        assertThat(sampleVersion()).isEmpty();
        assertThat(HOST.host().bundleAdmin().bundle(id)).isEmpty();
        assertThat(HOST.deployDir().resolve(bsn + ".jar")).doesNotExist();
    }

    private static Optional<String> sampleVersion() {
        return HOST.host().catalog().tuner("sample", null).map(f -> f.descriptor().version());
    }

    private static List<String> techniqueChanges(List<GradusEvent> events) {
        return events.stream()
                .filter(TechniqueChanged.class::isInstance)
                .map(TechniqueChanged.class::cast)
                .map(t -> t.change() + " " + t.name() + " " + t.version())
                .toList();
    }

    /** Tracks the "sample" tuner service, as any consumer of a technique would. */
    private static final class SampleConsumer implements AutoCloseable {
        final ServiceTracker<Tuner<?>, Tuner<?>> tracker;

        @SuppressWarnings({"unchecked", "rawtypes"})
        SampleConsumer() throws Exception {
            var filter = HOST.host().context().createFilter(
                    "(&(objectClass=" + Tuner.class.getName() + ")(" + TechniqueName.PROPERTY + "=sample))");
            tracker = new ServiceTracker(HOST.host().context(), filter, null);
            tracker.open();
        }

        String currentVersion() {
            ServiceReference<Tuner<?>> ref = tracker.getServiceReference();
            return ref == null || ref.getBundle() == null ? "" : ref.getBundle().getVersion().toString();
        }

        @Override
        public void close() {
            tracker.close();
        }
    }
}
