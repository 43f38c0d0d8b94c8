package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.event.GradusEvent;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("Server-sent events respect back-pressure")
class EventBackPressureTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    /** An event as large as a job's detailed progress might be. */
    public record Flood(Instant time, int n, String text) implements GradusEvent {
        @Override
        public String type() {
            return "test.flood";
        }
    }

    @Test
    @DisplayName("a client that stops reading loses events instead of having them buffered without limit, and is disconnected; the stream works for the others")
    void stalledClientIsCutOff() throws Exception {
        int events = 3000;
        String text = "x".repeat(64 * 1024);
        URI url = HOST.url("/api/events");
        try (Socket stalled = new Socket()) {
            stalled.setReceiveBufferSize(64 * 1024);
            stalled.connect(new java.net.InetSocketAddress(url.getHost(), url.getPort()));
            OutputStream request = stalled.getOutputStream();
            request.write(("GET /api/events HTTP/1.1\r\nHost: " + url.getAuthority() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            request.flush();
            InputStream response = stalled.getInputStream();
            RunningHost.await("the stalled client is connected", 10, () -> clients("connected") == 1);

            // 3000 events of 64 KiB: about 200 MB that an unbounded queue would hold for this client.
            for (int i = 0; i < events; i++) {
                HOST.host().events().publish(new Flood(Instant.now(), i, text));
            }
            RunningHost.await("the stalled client is disconnected", 30, () -> clients("disconnected") == 1);
            assertThat(clients("droppedEvents")).as("events dropped for it").isGreaterThan(0);

            stalled.setSoTimeout(20_000);
            int received = 0;
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response, StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    if (line.equals("event: test.flood")) {
                        received++;
                    }
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the stream never ended: the server kept the client (read " + received + " events)", e);
            }
            assertThat(received).as("what the client got before it was cut off").isLessThan(events / 2);
        }
        RunningHost.await("the stalled client is gone", 10, () -> clients("connected") == 0);

        HttpResponse<InputStream> stream = HOST.http().send(
                HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            assertThat(lines.readLine()).isEqualTo(": connected");
            RunningHost.await("the new client is connected", 10, () -> clients("connected") == 1);
            HOST.host().events().publish(new Flood(Instant.now(), -1, "after"));
            assertThat(lines.readLine()).isEmpty();
            assertThat(lines.readLine()).isEqualTo("event: test.flood");
            assertThat(lines.readLine()).contains("\"n\":-1", "\"text\":\"after\"");
        }
    }

    private static long clients(String count) {
        try {
            return HOST.send("GET", "/api/events/clients", null, null).json().get(count).asLong();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
