package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.runtime.BundleInfo;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("The console's API")
class ConsoleSecurityTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @Test
    @DisplayName("refuses every mutating call without the token, or with a wrong one, and changes nothing")
    void mutatingCallsNeedTheToken() throws Exception {
        long full = fullBundle().id();
        byte[] jar = TestBundles.sample(TestBundles.SAMPLE + ".security", "1.0.0");

        for (String token : new String[] {null, "wrong-token"}) {
            assertRefused(HOST.send("POST", "/api/bundles/" + full + "/stop", null, token));
            assertRefused(HOST.send("POST", "/api/bundles/" + full + "/update", jar, token));
            assertRefused(HOST.send("POST", "/api/bundles", jar, token));
            assertRefused(HOST.send("DELETE", "/api/bundles/" + full, null, token));
        }
        assertThat(fullBundle().state()).isEqualTo("ACTIVE");
        assertThat(HOST.host().catalog().tuner("sample", null)).isEmpty();
        assertThat(HOST.send("GET", "/api/bundles/" + full, null, null).status()).as("reading needs no token").isEqualTo(200);
    }

    @Test
    @DisplayName("the token is stored in a file only its owner can read")
    void tokenFile() throws Exception {
        var file = HOST.host().consoleTokenFile();
        assertThat(Files.readString(file).trim()).isEqualTo(HOST.token());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(HOST.token()).hasSizeGreaterThanOrEqualTo(40);
    }

    @Test
    @DisplayName("streams bundle and technique changes as server-sent events")
    void serverSentEvents() throws Exception {
        long full = fullBundle().id();
        HttpResponse<InputStream> stream = HOST.http().send(
                HttpRequest.newBuilder(HOST.url("/api/events")).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.headers().firstValue("Content-Type")).hasValue("text/event-stream");
        BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
        assertThat(lines.readLine()).isEqualTo(": connected");

        CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
            StringBuilder text = new StringBuilder();
            try {
                for (String line; (line = lines.readLine()) != null; ) {
                    text.append(line).append('\n');
                    if (line.contains("\"change\":\"STARTED\"") && line.contains("io.gradus.plugin.full")) {
                        return text.toString();
                    }
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return text.toString();
        });
        assertThat(HOST.send("POST", "/api/bundles/" + full + "/stop", null, HOST.token()).status()).isEqualTo(200);
        assertThat(HOST.send("POST", "/api/bundles/" + full + "/start", null, HOST.token()).status()).isEqualTo(200);

        String events = seen.get(20, TimeUnit.SECONDS);
        stream.body().close();
        assertThat(events).contains(
                "event: technique.changed", "\"change\":\"UNREGISTERED\"", "\"change\":\"REGISTERED\"",
                "event: bundle.changed", "\"change\":\"STOPPED\"", "\"change\":\"STARTED\"");
    }

    private static void assertRefused(RunningHost.Response response) {
        assertThat(response.status()).isEqualTo(401);
        assertThat(response.json().get("error").asText()).contains("token");
    }

    private static BundleInfo fullBundle() {
        return HOST.host().bundleAdmin().bundles().stream()
                .filter(b -> b.symbolicName().equals("io.gradus.plugin.full"))
                .findFirst()
                .orElseThrow();
    }

}
