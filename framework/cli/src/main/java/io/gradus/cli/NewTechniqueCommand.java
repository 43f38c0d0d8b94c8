package io.gradus.cli;

import io.gradus.api.technique.TechniqueFamily;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradus new-technique}: generates a technique bundle project from the Gradus archetype
 * ({@code io.gradus:gradus-technique-archetype}, installed into the local Maven repository by the
 * Gradus build) by running Maven's archetype plugin offline. The project builds against the
 * published API and the test kit only.
 */
@Command(
        name = "new-technique",
        mixinStandardHelpOptions = true,
        description = {"Create a technique bundle project (a tuner or an objective) that builds against the published API.",
                "Runs Maven offline: the Gradus build must have installed its artifacts (./gradus does on its first run)."})
final class NewTechniqueCommand implements Callable<Integer> {

    /** A technique name as job files write it (see {@code TechniqueName}). */
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]*");
    private static final Pattern GROUP = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*");

    @Spec
    CommandSpec spec;

    @Option(names = "--name", required = true, paramLabel = "NAME",
            description = "The technique's name in job files: lowercase letters, digits and '-', e.g. ia3.")
    String name;

    @Option(names = "--family", required = true, paramLabel = "FAMILY",
            description = "tuner (changes the model: which parameters train, which modules are replaced) or objective (defines the loss).")
    TechniqueFamily family;

    @Option(names = "--dir", paramLabel = "DIR", description = "The project's folder, new or empty. Default: ./NAME.")
    Path dir;

    @Option(names = "--group-id", defaultValue = "com.example", paramLabel = "GROUP",
            description = "Maven group id; with the name it makes the bundle's symbolic name and the Java package. Default: ${DEFAULT-VALUE}.")
    String groupId;

    @Option(names = "--bundle-version", defaultValue = "1.0.0", paramLabel = "VERSION",
            description = "The first version of the technique (its bundle's version). Default: ${DEFAULT-VALUE}.")
    String bundleVersion;

    @Option(names = "--maven-repo", paramLabel = "DIR",
            description = "The local Maven repository holding Gradus's artifacts. Default: Maven's own (~/.m2/repository, or as settings.xml says).")
    Path mavenRepository;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (!NAME.matcher(name).matches()) {
            throw new ParameterException(spec.commandLine(), "--name '" + name
                    + "' must be lowercase letters, digits and '-', starting with a letter");
        }
        if (!GROUP.matcher(groupId).matches()) {
            throw new ParameterException(spec.commandLine(), "--group-id '" + groupId
                    + "' must be dot-separated lowercase Java identifiers, e.g. com.example");
        }
        Path project = (dir != null ? dir : Path.of(name)).toAbsolutePath().normalize();
        if (Files.exists(project) && (!Files.isDirectory(project) || !isEmpty(project))) {
            throw new IllegalArgumentException(project + " already exists and is not an empty folder");
        }
        Path parent = Files.createDirectories(project.getParent());
        Path scratch = Files.createTempDirectory(parent, ".gradus-new-technique-");
        try {
            generate(scratch);
            Files.deleteIfExists(project);
            Files.move(scratch.resolve(name), project);
        } finally {
            deleteTree(scratch);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("Created the %s '%s' in %s (%s:%s:%s, package %s).%n", family.label(), name, project, groupId, name,
                bundleVersion, packageName());
        // The project builds on a JDK 25 only; the shell's own java is often older. This JVM is one.
        out.printf("Next: build it with Maven on a JDK 25, e.g. the one this command runs on:%n"
                + "  cd %s && JAVA_HOME=%s mvn verify%n"
                + "then copy target/%s-%s.jar into the host's deploy folder as %s.%s.jar%n",
                project, System.getProperty("java.home"), name, bundleVersion, groupId, name);
        out.flush();
        return 0;
    }

    /** Runs the archetype into {@code target}, where it creates the folder {@code name}. */
    private void generate(Path target) throws IOException, InterruptedException {
        Properties archetype = archetype();
        List<String> command = new ArrayList<>(List.of("mvn", "-o", "-B", "-q", "-Dstyle.color=never"));
        if (mavenRepository != null) {
            command.add("-Dmaven.repo.local=" + mavenRepository.toAbsolutePath());
        }
        command.addAll(List.of(archetype.getProperty("plugin"),
                "-DinteractiveMode=false",
                "-DarchetypeCatalog=local",
                "-DarchetypeGroupId=" + archetype.getProperty("archetype.groupId"),
                "-DarchetypeArtifactId=" + archetype.getProperty("archetype.artifactId"),
                "-DarchetypeVersion=" + archetype.getProperty("archetype.version"),
                "-DgroupId=" + groupId,
                "-DartifactId=" + name,
                "-Dversion=" + bundleVersion,
                "-Dpackage=" + packageName(),
                "-Dname=" + name,
                "-Dfamily=" + family.label(),
                "-DclassName=" + className()));
        Process maven;
        try {
            maven = new ProcessBuilder(command).directory(target.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("Maven (mvn) is needed to create a project and was not found: install it"
                    + " (e.g. 'apt-get install maven') and try again");
        }
        maven.getOutputStream().close();
        String output = new String(maven.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (maven.waitFor() != 0 || !Files.isDirectory(target.resolve(name))) {
            String errors = output.lines().filter(l -> l.startsWith("[ERROR]") && !l.equals("[ERROR] "))
                    .limit(3).collect(Collectors.joining("\n"));
            throw new IllegalStateException("Maven could not create the project from "
                    + archetype.getProperty("archetype.artifactId") + " " + archetype.getProperty("archetype.version")
                    + (errors.isEmpty() ? "" : ":\n" + errors)
                    + "\nThe archetype and the Gradus API must be in the local Maven repository: build Gradus with"
                    + " './gradus mvn install -DskipTests' (or name the repository with --maven-repo)");
        }
    }

    /** {@code my-tuner} → {@code com.example.mytuner}. */
    String packageName() {
        return groupId + "." + name.replace("-", "");
    }

    /** {@code my-tuner} → {@code MyTuner}, the prefix of the generated classes. */
    String className() {
        return Arrays.stream(name.split("-")).filter(part -> !part.isEmpty())
                .map(part -> part.substring(0, 1).toUpperCase(Locale.ROOT) + part.substring(1))
                .collect(Collectors.joining());
    }

    private static Properties archetype() {
        Properties properties = new Properties();
        try (InputStream in = NewTechniqueCommand.class.getResourceAsStream("archetype.properties")) {
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the archetype's coordinates", e);
        }
        return properties;
    }

    private static boolean isEmpty(Path folder) throws IOException {
        try (Stream<Path> entries = Files.list(folder)) {
            return entries.findAny().isEmpty();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
