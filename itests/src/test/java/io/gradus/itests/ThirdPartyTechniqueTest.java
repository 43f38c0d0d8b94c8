package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.cli.Gradus;
import io.gradus.core.testing.RequiredTool;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a plugin author does, against the running host: a project from {@code gradus new-technique},
 * built with Maven outside the Gradus build and offline (only what the Gradus build installed), and
 * the IA³ sample likewise; their jars dropped into the deploy folder, used by jobs, updated and
 * removed while the host runs. A faulty technique bundle fails its own job only.
 */
@DisplayName("Third-party techniques: generated, built outside the reactor, hot-deployed, run, updated, removed")
class ThirdPartyTechniqueTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    @TempDir
    static Path dir;

    @BeforeAll
    static void data() throws Exception {
        TinyJob.write(dir);
    }

    /** Runs Maven offline in {@code project} on the local repository the Gradus build installed into, on this JDK. */
    private static String maven(Path project, String... goals) throws IOException, InterruptedException {
        Build build = maven(project, Path.of(System.getProperty("java.home")), goals);
        assertThat(build.exit()).as("mvn %s in %s:%n%s", String.join(" ", goals), project,
                build.output().lines().filter(l -> l.contains("ERROR") || l.contains("FAIL")).limit(30).toList()).isZero();
        return build.output();
    }

    /** What a Maven run printed, and how it ended. */
    private record Build(int exit, String output) {}

    /** Runs Maven offline in {@code project} with {@code JAVA_HOME} set to {@code jdk}. */
    private static Build maven(Path project, Path jdk, String... goals) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(System.getProperty("gradus.maven.home") + "/bin/mvn", "-o", "-B",
                "-Dstyle.color=never", "-Dmaven.repo.local=" + System.getProperty("gradus.maven.repository")));
        command.addAll(List.of(goals));
        ProcessBuilder builder = new ProcessBuilder(command).directory(project.toFile()).redirectErrorStream(true);
        builder.environment().put("JAVA_HOME", jdk.toString());
        if (!jdk.equals(Path.of(System.getProperty("java.home")))) {
            // ./gradus's Maven options are for a JDK 25; a newcomer's shell has none.
            builder.environment().remove("MAVEN_OPTS");
        }
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(10, TimeUnit.MINUTES)).isTrue();
        return new Build(process.exitValue(), output);
    }

    /** Runs {@code gradus new-technique} with these arguments, on the local repository the Gradus build installed into. */
    private static String newTechnique(String... arguments) {
        StringWriter out = new StringWriter();
        List<String> command = new ArrayList<>(List.of("new-technique"));
        command.addAll(List.of(arguments));
        command.addAll(List.of("--maven-repo", System.getProperty("gradus.maven.repository")));
        int status = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(out))
                .execute(command.toArray(String[]::new));
        assertThat(status).as(out.toString()).isZero();
        return out.toString();
    }

    /** A JDK older than 25 on this machine, as a newcomer's shell often has (Debian's Maven package brings one). */
    private static Optional<Path> olderJdk() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> jdks = Files.list(jvms)) {
            for (Path jdk : jdks.sorted().toList()) {
                Path release = jdk.resolve("release");
                if (Files.isExecutable(jdk.resolve("bin/java")) && Files.isRegularFile(release)) {
                    Matcher version = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(release));
                    if (version.find() && Integer.parseInt(version.group(1)) < 25) {
                        return Optional.of(jdk.toRealPath());
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static JsonNode submit(String yaml) throws Exception {
        RunningHost.Response submitted = HOST.send("POST", "/api/jobs?base=" + dir, yaml.getBytes(StandardCharsets.UTF_8),
                HOST.token());
        assertThat(submitted.status()).as(submitted.json().toString()).isEqualTo(201);
        return HOST.awaitJobEnd(submitted.json().get("id").asText(), 180);
    }

    private static String job(String tuner, String objective, String output) {
        return TinyJob.yaml(3, output).replace("tuner: {name: full, version: \"[1.0,2.0)\"}", "tuner: " + tuner)
                .replace("objective: {name: pretrain}", "objective: " + objective);
    }

    private static boolean listed(String name, String version) {
        try {
            JsonNode techniques = HOST.send("GET", "/api/techniques", null, null).json();
            for (JsonNode t : techniques) {
                if (t.get("name").asText().equals(name) && t.get("version").asText().equals(version)) {
                    return true;
                }
            }
            return false;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    @DisplayName("new-technique → offline mvn verify → deploy (REST list and SSE event) → job → update to 1.1.0 → removal → a job naming it is refused")
    void generatedTechnique() throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        HttpResponse<Stream<String>> stream = HOST.http().send(HttpRequest.newBuilder(HOST.url("/api/events")).build(),
                HttpResponse.BodyHandlers.ofLines());
        Thread.ofVirtual().start(() -> stream.body().forEach(lines::add));

        // README's three lines, as written: generate the project, build and test it, drop the jar
        // into the deploy folder.
        Path deployed = HOST.deployDir().resolve("com.example.mytuner.jar");
        try (ReadmeShell shell = new ReadmeShell(HOST)) {
            ReadmeShell.Result made = shell.run(String.join("\n", ReadmeCommands.line("./gradus new-technique "),
                    ReadmeCommands.line("&& mvn verify"), ReadmeCommands.line("cp ~/src/mytuner/")), 900);
            assertThat(made.exit()).as(made.out().lines().filter(l -> l.contains("ERROR") || l.contains("FAIL")).limit(30)
                    .toList() + made.err()).isZero();
            assertThat(made.out()).contains("Created the tuner 'mytuner'", "Tests run: 2, Failures: 0, Errors: 0, Skipped: 0");
            assertThat(made.out()).as("the next step names a JDK 25")
                    .contains(" && JAVA_HOME=" + System.getProperty("java.home") + " mvn verify");
            Path project = shell.home().resolve("src/mytuner");
            assertThat(project.resolve("src/main/java/com/example/mytuner/MytunerTechnique.java")).isRegularFile();
            assertThat(deployed).isRegularFile();
            generatedThenUpdated(project, deployed, lines);
        }
    }

    /** The generated technique, deployed: listed, announced, described, used by a job, updated to 1.1.0, removed. */
    private static void generatedThenUpdated(Path project, Path deployed, List<String> lines) throws Exception {
        RunningHost.await("mytuner 1.0.0 is listed", 30, () -> listed("mytuner", "1.0.0"));
        // A server-sent event is an "event:" line followed by its "data:" line.
        RunningHost.await("its technique.changed event arrives", 10, () -> {
            List<String> seen = List.copyOf(lines);
            for (int i = 1; i < seen.size(); i++) {
                if (seen.get(i - 1).equals("event: technique.changed") && seen.get(i).contains("\"name\":\"mytuner\"")
                        && seen.get(i).contains("\"version\":\"1.0.0\"")) {
                    return true;
                }
            }
            return false;
        });

        JsonNode settings = HOST.send("GET", "/api/techniques/tuner/mytuner/schema", null, null).json();
        assertThat(settings.at("/properties/trainable/description").asText()).as("the generated config's @Setting")
                .startsWith("Regular expressions of the parameter names that train");
        assertThat(settings.at("/properties/trainable/default/0").asText()).isEqualTo("model\\.layers\\.\\d+\\.mlp\\..*");

        JsonNode trained = submit(job("{name: mytuner, version: \"[1.0,2.0)\"}", "{name: pretrain}", "mytuner-run"));
        assertThat(trained.get("state").asText()).as(trained.toString()).isEqualTo("succeeded");
        assertThat(trained.at("/techniques/0/bundleSymbolicName").asText()).isEqualTo("com.example.mytuner");
        assertThat(trained.at("/techniques/0/version").asText()).isEqualTo("1.0.0");

        Path pom = project.resolve("pom.xml");
        Files.writeString(pom, Files.readString(pom).replaceFirst("<version>1.0.0</version>", "<version>1.1.0</version>"));
        maven(project, "package", "-DskipTests");
        long bundleId = HOST.bundle("com.example.mytuner").orElseThrow().id();
        HOST.deploy("com.example.mytuner.jar", Files.readAllBytes(project.resolve("target/mytuner-1.1.0.jar")));
        RunningHost.await("mytuner 1.1.0 replaces 1.0.0", 30, () -> listed("mytuner", "1.1.0") && !listed("mytuner", "1.0.0"));
        assertThat(HOST.bundle("com.example.mytuner").orElseThrow().id()).as("updated in place").isEqualTo(bundleId);

        RunningHost.Response outOfRange = HOST.send("POST", "/api/jobs?base=" + dir,
                job("{name: mytuner, version: \"[2.0,3.0)\"}", "{name: pretrain}", "too-new").getBytes(StandardCharsets.UTF_8),
                HOST.token());
        assertThat(outOfRange.status()).isEqualTo(400);
        assertThat(outOfRange.json().get("error").asText()).contains("no tuner 'mytuner' in version range [2.0,3.0) is installed")
                .contains("installed versions of mytuner: 1.1.0");

        HOST.undeploy(deployed, "com.example.mytuner");
        RunningHost.await("mytuner is no longer listed", 30, () -> !listed("mytuner", "1.1.0"));
        RunningHost.Response refused = HOST.send("POST", "/api/jobs?base=" + dir,
                job("{name: mytuner}", "{name: pretrain}", "gone").getBytes(StandardCharsets.UTF_8), HOST.token());
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("error").asText()).startsWith("no tuner 'mytuner' is installed; installed tuners: ")
                .contains("full 1.0.0");
    }

    @Test
    @DisplayName("a generated project built by Maven on an older JDK stops at once with a message that says to point JAVA_HOME at a JDK 25")
    void olderJdkNamesTheFix() throws Exception {
        Optional<Path> older = olderJdk();
        RequiredTool.require(older.isPresent(), "no JDK older than 25 in /usr/lib/jvm (Debian's maven package brings one)");
        Path project = dir.resolve("old-jdk");
        newTechnique("--name", "old-jdk", "--family", "objective", "--dir", project.toString());

        Build build = maven(project, older.get(), "verify");

        assertThat(build.exit()).isNotZero();
        assertThat(build.output()).contains("This technique builds on a JDK 25, as Gradus does, and Maven runs on Java ",
                "(" + older.get(), "Point JAVA_HOME at a JDK 25 and run Maven again");
        assertThat(build.output()).as("stopped before compiling").doesNotContain("maven-compiler-plugin");
        assertThat(Files.readString(project.resolve("README.md"))).contains("JAVA_HOME");
    }

    @Test
    @DisplayName("the IA³ sample, built outside the reactor, trains in the host and saves a PEFT IA³ adapter")
    void ia3Sample() throws Exception {
        Path project = dir.resolve("ia3");
        Path sample = Path.of(System.getProperty("gradus.samples")).resolve("ia3");
        try (Stream<Path> files = Files.walk(sample)) {
            for (Path f : files.filter(p -> !sample.relativize(p).startsWith("target")).toList()) {
                Path target = project.resolve(sample.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
        assertThat(maven(project, "verify")).contains("Tests run: 5, Failures: 0, Errors: 0, Skipped: 0");
        Path deployed = HOST.deploy("io.gradus.samples.ia3.jar", Files.readAllBytes(project.resolve("target/ia3-1.0.0.jar")));
        RunningHost.await("ia3 1.0.0 is listed", 30, () -> listed("ia3", "1.0.0"));

        JsonNode trained = submit(job("{name: ia3}", "{name: pretrain}", "ia3-run"));

        assertThat(trained.get("state").asText()).as(trained.toString()).isEqualTo("succeeded");
        Path adapter = dir.resolve("ia3-run/adapter");
        assertThat(trained.get("result").asText()).isEqualTo(adapter.toString());
        JsonNode config = RunningHost.JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        assertThat(config.get("peft_type").asText()).isEqualTo("IA3");
        assertThat(config.get("feedforward_modules").get(0).asText()).isEqualTo("down_proj");
        assertThat(adapter.resolve("adapter_model.safetensors")).isRegularFile();
        HOST.undeploy(deployed, "io.gradus.samples.ia3");
    }

    @Test
    @DisplayName("an objective that throws from its step fails its job naming bundle and version; the console and the next job go on")
    void faultyTechnique() throws Exception {
        Path deployed = HOST.deploy("io.gradus.itests.faulty.jar", TestBundles.faulty("1.0.0"));
        RunningHost.await("broken 1.0.0 is listed", 30, () -> listed("broken", "1.0.0"));

        JsonNode failed = submit(job("{name: full}", "{name: broken}", "broken-run"));
        JsonNode next = submit(job("{name: full}", "{name: pretrain}", "after-broken"));

        assertThat(failed.get("state").asText()).isEqualTo("failed");
        assertThat(failed.get("message").asText()).isEqualTo("objective 'broken' 1.0.0 (bundle io.gradus.itests.faulty) failed: "
                + "the broken objective cannot compute a loss");
        assertThat(next.get("state").asText()).as(next.toString()).isEqualTo("succeeded");
        assertThat(HOST.send("GET", "/api/bundles", null, null).status()).isEqualTo(200);
        HOST.undeploy(deployed, "io.gradus.itests.faulty");
    }
}
