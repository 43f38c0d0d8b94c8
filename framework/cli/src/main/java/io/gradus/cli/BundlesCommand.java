package io.gradus.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gradus.api.runtime.BundleInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradus bundles}: lists the bundles of the running host (found through the state folder, as
 * {@code gradus train} finds it, or at {@code --url}), or, when none runs, of the distribution as it
 * would start.
 */
@Command(
        name = "bundles",
        mixinStandardHelpOptions = true,
        description = {
            "List bundles: id, state, version, symbolic name, and the techniques each one provides.",
            "Asks the running host (the one 'gradus start' runs, or the console at --url); if none runs, boots the",
            "distribution briefly (without console) to list it."
        })
final class BundlesCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    @Spec
    CommandSpec spec;

    @Option(names = "--url", description = "Base URL of a running host's console, e.g. http://127.0.0.1:8080. Default: the "
            + "host that 'gradus start' runs on this distribution, if any.")
    URI url;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<BundleInfo> bundles;
        String origin;
        Optional<URI> console = url != null ? Optional.of(url)
                : HostConnection.find(Distribution.settings().stateDir()).map(HostConnection::console);
        if (console.isPresent()) {
            try {
                bundles = fromRunningHost(console.get());
                origin = "running host at " + console.get();
            } catch (ConnectException notRunning) {
                throw new IllegalStateException("no host answers at " + console.get());
            }
        } else {
            bundles = fromOfflineBoot();
            origin = "distribution " + Distribution.home() + " (no host is running)";
        }
        if (json) {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(bundles));
        } else {
            out.println("Bundles of the " + origin + ":");
            out.printf("%4s  %-11s %-14s %s%n", "ID", "STATE", "VERSION", "SYMBOLIC NAME");
            for (BundleInfo b : bundles) {
                out.printf("%4d  %-11s %-14s %s%s%n", b.id(), b.state(), b.version(), b.symbolicName(), details(b));
            }
        }
        out.flush();
        return 0;
    }

    private static String details(BundleInfo b) {
        String techniques = b.techniques().stream()
                .map(t -> t.family().label() + " '" + t.name() + "'")
                .collect(Collectors.joining(", "));
        return (techniques.isEmpty() ? "" : "  [" + techniques + "]") + (b.problem() == null ? "" : "  PROBLEM: " + b.problem());
    }

    private static List<BundleInfo> fromRunningHost(URI console) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(console.resolve("/api/bundles")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException(console + "/api/bundles answered HTTP " + response.statusCode() + ": " + response.body());
            }
            return JSON.readValue(response.body(), new TypeReference<List<BundleInfo>>() {});
        }
    }

    private static List<BundleInfo> fromOfflineBoot() throws Exception {
        try (EmbeddedHost quiet = new EmbeddedHost()) {
            return quiet.host().bundleAdmin().bundles();
        }
    }
}
