package io.gradus.itests;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.runtime.BundleInfo;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.Mutations.ByteEdit;
import io.gradus.core.fuzz.Mutations.ByteEditKind;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import org.osgi.framework.Version;

/**
 * Fuzzes the way a user's technique bundle goes into the host, {@code POST /api/bundles} and
 * {@code POST /api/bundles/{id}/update} on the real host (the deploy folder's file, written by the
 * console, then the framework): the sample technique bundle as bnd builds it, its
 * {@code META-INF/MANIFEST.MF} damaged the ways hand-made and broken manifests are (an OSGi header
 * set to a bad name, version, clause list, filter or directive; deleted; given twice; written on
 * one overlong line; holding bytes that are not UTF-8; its name's case changed; the manifest gone),
 * then sometimes its text and the jar's bytes damaged too (cut, bits flipped).
 *
 * <p>Each input is installed as a new bundle and given as an update of a running bundle. Every
 * answer is an install or update that did what the manifest says (the symbolic name and version the
 * test reads from the manifest itself), or a refusal (400, 409, 422) whose message reads as a
 * sentence ({@link CleanLoad#assertReadable}): never a 500, never a hang. After a refused update the
 * running bundle runs its last good revision, same id and version, its technique registered; after a
 * refused install nothing is left behind, in the framework or in the deploy folder.
 */
class BundleManifestFuzzTest {

    /** The bundle that runs throughout, updated with each input (a user's name, not one of Gradus's packages). */
    private static final String RUNNING = "my.fuzzed.technique";
    /** The name each input is installed under. */
    private static final String FRESH = "my.fresh.technique";

    /** Headers the edits pick among, besides the seed's own: the other OSGi headers a user's jar may hold. */
    private static final List<String> OTHER_HEADERS = List.of("Export-Package", "Require-Capability",
            "Provide-Capability", "Fragment-Host", "Require-Bundle", "Bundle-Activator", "DynamicImport-Package",
            "Bundle-NativeCode", "Bundle-RequiredExecutionEnvironment", "Bundle-ClassPath", "Bundle-ActivationPolicy");

    /** Values that break an OSGi header parser: bad names, versions, ranges, quotes, directives, filters. */
    private static final List<String> VALUES = List.of("", " ", ";", ",", "\"", "x", "é", "a b", "../x", "a..b",
            "1.x", "-1", "1..2", "1.2.3.4.5", "99999999999", "1.0.0.qual!", "2147483648.0.0", "[1,2)", "(2,1]", "[1.x,2)",
            "a;singleton:=true", "a;singleton:=bogus", "a;fragment-attachment:=never", "a;mandatory:=x",
            "io.gradus.api.technique;version=\"[9,10)\"", "io.gradus.api.technique;version=\"[1.x\"",
            "io.gradus.api.technique;version=\"(2,1]\"", "com.example.missing",
            "com.example.missing;resolution:=optional", "io.gradus.api.technique;io.gradus.api.technique",
            "io.gradus.api.technique,io.gradus.api.technique", ";version=1", "a;version=1;version=2", "java.lang",
            "a;b:=", "a;=", "a;\"unterminated", "a;version=\"1.0", "a;uses:=\"b", "a;x=\"y\";x=\"z\"",
            "osgi.ee;filter:=\"(&(osgi.ee=JavaSE)(version=99))\"", "osgi.ee;filter:=\"(osgi.ee=\"", "x;filter:=\"\"",
            "osgi.wiring.package;filter:=\"(osgi.wiring.package=com.example)\"", "osgi.identity",
            "osgi.extender;filter:=\"(osgi.extender=osgi.component)\"", "x;y:Long=z", "x;y:List<Version>=\"1.x\"",
            "1", "2", "3", "2.0", "io.gradus.api", "org.osgi.framework", "no.such.Activator", "lazy", "bogus",
            "*;osname=Linux", "lib/missing.so", ".,missing.jar", "io.gradus.itests.sample.SampleTuner",
            "a".repeat(300), "a.".repeat(40) + "a");

    /** Bytes that are not UTF-8 text: a lone continuation byte, an unfinished sequence, 0xFF, NUL. */
    private static final byte[] NOT_UTF8 = {(byte) 0x80, (byte) 0xC3, (byte) 0xFF, (byte) 0xE2, 0};

    /** A dotted name in a message: a package, a symbolic name. */
    private static final Pattern DOTTED_NAME = Pattern.compile("[A-Za-z_][\\w-]*(\\.[A-Za-z_][\\w-]*)+");

    private static RunningHost host;
    private static long runningId;
    private static byte[] runningJar;
    private static byte[] updateSeed;
    private static byte[] installSeed;
    private static Set<Path> deployFiles;
    private static int bundleCount;

    @BeforeContainer
    static void start() throws Exception {
        host = new RunningHost();
        host.beforeAll(null);
        runningJar = TestBundles.sample(RUNNING, "1.0.0");
        RunningHost.Response installed = host.send("POST", "/api/bundles", runningJar, host.token());
        assertThat(installed.status()).as(installed.json().toString()).isEqualTo(201);
        runningId = installed.json().get("id").asLong();
        updateSeed = TestBundles.sample(RUNNING, "1.1.0");
        installSeed = TestBundles.sample(FRESH, "1.0.0");
        deployFiles = deployFiles();
        bundleCount = host.host().bundleAdmin().bundles().size();
    }

    @AfterContainer
    static void stop() throws IOException {
        if (host != null) {
            host.afterAll(null);
        }
    }

    /** What an edit does to the manifest's main section. */
    enum EditKind {
        SET, DELETE, DUPLICATE, APPEND, OVERLONG, NOT_UTF8, NAME_CASE, NO_MANIFEST
    }

    /** One edit: its kind, the header (an index into the seed's headers and the others), a value. */
    record Edit(EditKind kind, int header, int value) {}

    /** One input: the edits of the manifest, then byte damage to its text, then to the jar. */
    record Plan(List<Edit> edits, List<ByteEdit> textDamage, List<ByteEdit> jarDamage) {}

    @Provide
    Arbitrary<Plan> plans() {
        // A jar without its manifest is refused at once and says nothing more: seldom.
        Arbitrary<EditKind> kinds = Arbitraries.frequency(Tuple.of(1, EditKind.NO_MANIFEST), Tuple.of(4, EditKind.SET),
                Tuple.of(4, EditKind.DELETE), Tuple.of(4, EditKind.DUPLICATE), Tuple.of(4, EditKind.APPEND),
                Tuple.of(4, EditKind.OVERLONG), Tuple.of(4, EditKind.NOT_UTF8), Tuple.of(4, EditKind.NAME_CASE));
        Arbitrary<Edit> edits = Combinators.combine(kinds,
                Arbitraries.integers().between(0, Integer.MAX_VALUE), Arbitraries.integers().between(0, Integer.MAX_VALUE))
                .as(Edit::new);
        Arbitrary<ByteEdit> damage = Combinators.combine(Arbitraries.integers().between(0, Integer.MAX_VALUE),
                Arbitraries.of(ByteEditKind.TRUNCATE, ByteEditKind.FLIP_BIT, ByteEditKind.SET_BYTE,
                        ByteEditKind.INSERT_BYTE, ByteEditKind.DELETE_BYTES),
                Arbitraries.integers().between(0, Integer.MAX_VALUE)).as(ByteEdit::new);
        // Byte damage now and then: a damaged zip is refused before its manifest is read, which BundleJarTest covers.
        Arbitrary<List<ByteEdit>> textDamage = Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(List.of())),
                Tuple.of(1, damage.list().ofSize(1)));
        Arbitrary<List<ByteEdit>> jarDamage = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.just(List.of())),
                Tuple.of(1, damage.list().ofSize(1)));
        return Combinators.combine(edits.list().ofMinSize(1).ofMaxSize(3), textDamage, jarDamage).as(Plan::new);
    }

    @Property(tries = 100, seed = Mutations.SEED)
    @Label("a bundle jar with a damaged manifest installs and updates as it says, or is refused cleanly; the running revision stays")
    void damagedManifests(@ForAll("plans") Plan plan) throws Exception {
        restoreAfterAFailedTry();
        Mutant update = jar(updateSeed, plan);
        Mutant install = jar(installSeed, plan);

        RunningHost.Response updated = timed(() -> host.send("POST", "/api/bundles/" + runningId + "/update", update.bytes(),
                host.token()), update);
        Statistics.label("update").collect(updated.status());
        if (update.bytes().length == 0) {
            // No body is another operation: the bundle reloads its deploy file, the good jar.
            assertThat(updated.status()).as("a reload: " + updated.json()).isEqualTo(200);
        } else if (updated.status() == 200) {
            assertDoesWhatItSays(update, updated.json());
            RunningHost.Response back = host.send("POST", "/api/bundles/" + runningId + "/update", runningJar, host.token());
            assertThat(back.status()).as("the good revision goes back: " + back.json()).isEqualTo(200);
        } else {
            assertCleanRefusal(update, updated);
        }
        assertRunningKeepsItsRevision(update, updated);

        RunningHost.Response installed = timed(() -> host.send("POST", "/api/bundles", install.bytes(), host.token()), install);
        Statistics.label("install").collect(installed.status());
        if (installed.status() == 201) {
            assertDoesWhatItSays(install, installed.json());
        } else {
            assertCleanRefusal(install, installed);
        }
        removeInstalled(install, installed);
    }

    /** A request that must be answered within the fuzzers' time limit: a slower one holds every bundle operation. */
    private static RunningHost.Response timed(Callable<RunningHost.Response> request, Mutant input) throws Exception {
        long start = System.nanoTime();
        RunningHost.Response answer = request.call();
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(took).as("the answer to " + input + " took " + took.toMillis() + " ms (a hang?)")
                .isLessThan(CleanLoad.TIME_LIMIT);
        return answer;
    }

    /**
     * Puts the running bundle back to 1.0.0 and removes what an install left, if a try that failed
     * left things otherwise: jqwik shrinks a failure by trying simpler inputs, each of which must
     * start where the first did.
     */
    private static void restoreAfterAFailedTry() throws Exception {
        if (!host.running(RUNNING, "1.0.0")) {
            host.send("POST", "/api/bundles/" + runningId + "/update", runningJar, host.token());
        }
        removeInstalled(null, new RunningHost.Response(201, null));
    }

    // Regressions: one input per kind of failure the property found, each failing before its fix (except
    // frameworkRefusesTheManifest, the property's case that failed only after an update into a fragment).

    @Example
    @Label("an update that does not resolve goes back to the last good revision, which keeps running; the deploy file too")
    void unresolvableUpdate() throws Exception {
        restoreAfterAFailedTry();
        String error = refusedUpdate(jarWith(updateSeed, "Import-Package", "com.example.missing;version=\"[1,2)\",io.gradus.api.technique"));
        assertThat(error).isEqualTo("updating my.fuzzed.technique 1.0.0 [" + runningId + "] failed: my.fuzzed.technique 1.1.0"
                + " would not run (cannot resolve: nothing installed provides package com.example.missing (version >= 1.0.0,"
                + " version < 2.0.0)), so the bundle went back to my.fuzzed.technique 1.0.0; it keeps running its last good revision");
        assertThat(Files.readAllBytes(host.deployDir().resolve(RUNNING + ".jar"))).as("the deploy file holds what runs")
                .isEqualTo(runningJar);
    }

    @Example
    @Label("an update whose manifest the framework refuses leaves the bundle running")
    void frameworkRefusesTheManifest() throws Exception {
        restoreAfterAFailedTry();
        assertThat(refusedUpdate(jarWith(updateSeed, "Bundle-ManifestVersion", ""))).contains("Bundle-ManifestVersion");
    }

    @Example
    @Label("a bundle is not updated into a fragment")
    void notIntoAFragment() throws Exception {
        restoreAfterAFailedTry();
        assertThat(refusedUpdate(jarWith(updateSeed, "Fragment-Host", "io.gradus.api"))).contains("Fragment-Host",
                "a fragment does not run on its own", "went back to my.fuzzed.technique 1.0.0");
    }

    @Example
    @Label("the framework's messages come without Java class names")
    void frameworkMessages() throws Exception {
        restoreAfterAFailedTry();
        String error = refusedUpdate(jarWith(updateSeed, "Require-Capability", "x;filter:=\"#(a=b)\""));
        assertThat(error).contains("Missing opening parenthesis").doesNotContain("Exception");
    }

    @Example
    @Label("a bundle that imports many missing packages is told the first ten and how many more")
    void manyMissingImports() throws Exception {
        restoreAfterAFailedTry();
        String imports = String.join(",", IntStream.range(0, 15).mapToObj(i -> "com.example.missing" + i).toList());
        RunningHost.Response installed = host.send("POST", "/api/bundles", jarWith(installSeed, "Import-Package", imports),
                host.token());
        assertThat(installed.status()).isEqualTo(422);
        String error = installed.json().get("error").asText();
        assertThat(error).contains("package com.example.missing0; ", "package com.example.missing9; and 5 more")
                .doesNotContain("missing10");
        removeInstalled(null, installed);
    }

    /** Gives {@code jar} as an update of the running bundle: refused with 422, the bundle as it was; returns the error. */
    private static String refusedUpdate(byte[] jar) throws Exception {
        RunningHost.Response answer = host.send("POST", "/api/bundles/" + runningId + "/update", jar, host.token());
        assertThat(answer.status()).as(answer.json().toString()).isEqualTo(422);
        String error = answer.json().get("error").asText();
        CleanLoad.assertReadable(error.replace(RUNNING, "NAME"));
        assertRunningKeepsItsRevision(Mutant.seed(jar), answer);
        return error;
    }

    /** {@code seed} with one main-section header set to {@code value} (added if absent). */
    private static byte[] jarWith(byte[] seed, String header, String value) throws IOException {
        return rebuild(seed, ManifestText.with(manifestOf(seed), header, value), true);
    }

    private static byte[] manifestOf(byte[] jar) throws IOException {
        return entries(jar).stream().filter(Entry::isManifest).findFirst().orElseThrow().bytes();
    }

    /** The jar {@code seed} with its manifest edited and damaged by {@code plan}. */
    static Mutant jar(byte[] seed, Plan plan) throws IOException {
        Mutant text = ManifestText.edit(manifestOf(seed), plan.edits());
        text = Mutations.damage(text, plan.textDamage());
        boolean keep = plan.edits().stream().noneMatch(e -> e.kind() == EditKind.NO_MANIFEST);
        return Mutations.damage(text.withBytes(rebuild(seed, text.bytes(), keep)), plan.jarDamage());
    }

    /** {@code seed}'s entries in their order, its manifest replaced by {@code manifest} or left out. */
    private static byte[] rebuild(byte[] seed, byte[] manifest, boolean keep) throws IOException {
        List<Entry> entries = entries(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Entry entry : entries) {
                if (entry.isManifest() && !keep) {
                    continue;
                }
                zip.putNextEntry(new ZipEntry(entry.name()));
                zip.write(entry.isManifest() ? manifest : entry.bytes());
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }

    private record Entry(String name, byte[] bytes) {
        boolean isManifest() {
            return name.equals("META-INF/MANIFEST.MF");
        }
    }

    private static List<Entry> entries(byte[] jar) throws IOException {
        List<Entry> entries = new ArrayList<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(jar))) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                entries.add(new Entry(e.getName(), zip.readAllBytes()));
            }
        }
        return entries;
    }

    /** An accepted jar runs as what its manifest says: that symbolic name, that version. */
    private static void assertDoesWhatItSays(Mutant input, JsonNode answer) {
        ManifestText.Reading reading = ManifestText.read(mainSection(input.bytes()).orElseThrow(
                () -> new AssertionError("accepted a jar whose manifest the test cannot find: " + input)));
        assertThat(reading.symbolicName()).as("accepted " + input + ": one Bundle-SymbolicName").isPresent();
        assertThat(answer.get("symbolicName").asText()).as("the symbolic name of " + input)
                .isEqualTo(reading.symbolicName().get());
        assertThat(Version.parseVersion(answer.get("version").asText())).as("the version of " + input)
                .isEqualTo(reading.version().orElseThrow(() -> new AssertionError("accepted " + input
                        + " whose Bundle-Version is not one OSGi version")));
        Statistics.label("accepted").collect(answer.get("state").asText());
    }

    private static void assertCleanRefusal(Mutant input, RunningHost.Response answer) {
        assertThat(answer.status()).as("the status of " + input + ": " + answer.json()).isIn(400, 409, 422);
        String message = answer.json().path("error").asText();
        assertThat(message).as("the error of " + input).isNotBlank();
        try {
            CleanLoad.assertReadable(withoutWrittenNames(message, input));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n  for " + input, e);
        }
    }

    /**
     * The message with every dotted name that the input's manifest writes (a package it imports, a
     * symbolic name) taken out: such names belong in the message, and are not a Java class name
     * leaking into it.
     */
    private static String withoutWrittenNames(String message, Mutant input) {
        String manifest = mainSection(input.bytes()).map(b -> new String(b, UTF_8).replace("\r\n ", "")).orElse("");
        Matcher names = DOTTED_NAME.matcher(message);
        StringBuilder out = new StringBuilder();
        while (names.find()) {
            names.appendReplacement(out, manifest.contains(names.group()) ? "NAME" : Matcher.quoteReplacement(names.group()));
        }
        return names.appendTail(out).toString();
    }

    /** The running bundle is where it was: same id, 1.0.0, ACTIVE, its technique registered. */
    private static void assertRunningKeepsItsRevision(Mutant input, RunningHost.Response answer) {
        BundleInfo running = host.bundle(RUNNING).orElseThrow(() -> new AssertionError(RUNNING + " is gone after " + input));
        assertThat(running.id()).as("the running bundle's id after " + input).isEqualTo(runningId);
        assertThat(running.version() + " " + running.state()).as("the running bundle after " + input + " answered " + answer.status() + " " + answer.json()
                        + " (its problem: " + running.problem() + ")")
                .isEqualTo("1.0.0 ACTIVE");
        assertThat(running.techniques()).as("its technique after " + input).isNotEmpty();
    }

    /** Removes what an install left (accepted, or installed and not started), then checks that nothing else is left. */
    private static void removeInstalled(Mutant input, RunningHost.Response answer) throws Exception {
        if (answer.status() == 201 || answer.status() == 422) {
            for (BundleInfo b : host.host().bundleAdmin().bundles()) {
                if (b.location().startsWith("file:") && isNewDeployFile(Path.of(URI.create(b.location())))) {
                    RunningHost.Response removed = host.send("DELETE", "/api/bundles/" + b.id(), null, host.token());
                    assertThat(removed.status()).as("removing what " + input + " installed: " + removed.json()).isEqualTo(200);
                }
            }
        }
        assertThat(deployFiles()).as("the deploy folder after " + input).isEqualTo(deployFiles);
        assertThat(host.host().bundleAdmin().bundles()).as("the bundles after " + input).hasSize(bundleCount);
    }

    private static boolean isNewDeployFile(Path file) {
        Path normal = file.toAbsolutePath().normalize();
        return host.deployDir().toAbsolutePath().normalize().equals(normal.getParent()) && !deployFiles.contains(normal);
    }

    private static Set<Path> deployFiles() throws IOException {
        try (Stream<Path> files = Files.list(host.deployDir())) {
            return Set.copyOf(files.map(f -> f.toAbsolutePath().normalize()).toList());
        }
    }

    /** The manifest's bytes in a jar, if a zip reader finds them. */
    private static Optional<byte[]> mainSection(byte[] jar) {
        try {
            return entries(jar).stream().filter(Entry::isManifest).map(Entry::bytes).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * A manifest as text: its main section's headers, edited, and written back (lines wrapped at 72
     * bytes as the JAR specification has them, unless an edit says otherwise); and read by the JAR
     * specification, independently of the JDK's and the framework's readers.
     */
    static final class ManifestText {

        private record Header(String name, byte[] value, boolean wrapped) {}

        /** What a manifest says: its one Bundle-SymbolicName's name and its version, if it says one. */
        record Reading(Optional<String> symbolicName, Optional<Version> version) {}

        /** {@code manifest} with {@code name} set to {@code value}, added if absent. */
        static byte[] with(byte[] manifest, String name, String value) {
            List<Header> headers = headers(manifest);
            set(headers, indexOf(headers, name), new Header(name, value.getBytes(UTF_8), true));
            return write(headers);
        }

        private static List<Header> headers(byte[] manifest) {
            List<Header> headers = new ArrayList<>();
            for (String line : unfold(manifest)) {
                int colon = line.indexOf(": ");
                headers.add(new Header(line.substring(0, colon), line.substring(colon + 2).getBytes(UTF_8), true));
            }
            return headers;
        }

        private static byte[] write(List<Header> headers) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes("Manifest-Version: 1.0\r\n".getBytes(UTF_8));
            for (Header h : headers) {
                if (!h.name().equals("Manifest-Version")) {
                    writeHeader(out, h);
                }
            }
            out.writeBytes("\r\n".getBytes(UTF_8));
            return out.toByteArray();
        }

        static Mutant edit(byte[] manifest, List<Edit> edits) {
            List<Header> headers = headers(manifest);
            List<String> names = new ArrayList<>(headers.stream().map(Header::name).toList());
            for (String other : OTHER_HEADERS) {
                if (!names.contains(other)) {
                    names.add(other);
                }
            }
            names.remove("Manifest-Version"); // without it the JDK reads no header at all: that is NO_MANIFEST's case
            List<String> done = new ArrayList<>();
            for (Edit edit : edits) {
                String name = names.get(edit.header() % names.size());
                int at = indexOf(headers, name);
                String value = VALUES.get(edit.value() % VALUES.size());
                switch (edit.kind()) {
                    case SET -> {
                        set(headers, at, new Header(name, value.getBytes(UTF_8), true));
                        done.add("set " + name + " to '" + shortly(value) + "'");
                    }
                    case DELETE -> {
                        if (at >= 0) {
                            headers.remove(at);
                        }
                        done.add("delete " + name);
                    }
                    case DUPLICATE -> {
                        byte[] second = edit.value() % 2 == 0 && at >= 0 ? headers.get(at).value() : value.getBytes(UTF_8);
                        headers.add(new Header(name, second, true));
                        done.add("add a second " + name + " '" + shortly(new String(second, UTF_8)) + "'");
                    }
                    case APPEND -> {
                        byte[] before = at >= 0 ? headers.get(at).value() : new byte[0];
                        set(headers, at, new Header(name, (new String(before, UTF_8) + "," + value).getBytes(UTF_8), true));
                        done.add("append ',"  + shortly(value) + "' to " + name);
                    }
                    case OVERLONG -> {
                        byte[] before = at >= 0 ? headers.get(at).value() : "a".getBytes(UTF_8);
                        boolean oneLine = edit.value() % 2 == 0;
                        // One line past the JDK's 512-byte line buffer, or a header of 200,000 bytes wrapped as it should be.
                        int length = oneLine ? 600 : 200_000;
                        String padded = new String(before, UTF_8) + ",a".repeat(Math.max(1, (length - before.length) / 2));
                        set(headers, at, new Header(name, padded.getBytes(UTF_8), !oneLine));
                        done.add((oneLine ? "write " + name + " on one line of " : "make " + name + " ") + padded.length()
                                + " bytes long");
                    }
                    case NOT_UTF8 -> {
                        byte[] before = at >= 0 ? headers.get(at).value() : "a".getBytes(UTF_8);
                        int position = before.length == 0 ? 0 : edit.value() % before.length;
                        byte bad = NOT_UTF8[edit.value() % NOT_UTF8.length];
                        byte[] after = new byte[before.length + 1];
                        System.arraycopy(before, 0, after, 0, position);
                        after[position] = bad;
                        System.arraycopy(before, position, after, position + 1, before.length - position);
                        set(headers, at, new Header(name, after, true));
                        done.add("insert byte " + (bad & 0xFF) + " into " + name + " at " + position);
                    }
                    case NAME_CASE -> {
                        if (at >= 0) {
                            Header h = headers.get(at);
                            String renamed = edit.value() % 2 == 0 ? name.toLowerCase(Locale.ROOT) : name.toUpperCase(Locale.ROOT);
                            headers.set(at, new Header(renamed, h.value(), h.wrapped()));
                            done.add("write " + name + " as " + renamed);
                        }
                    }
                    case NO_MANIFEST -> done.add("leave out META-INF/MANIFEST.MF");
                }
            }
            return new Mutant(done.isEmpty() ? "seed" : String.join("; ", done), write(headers));
        }

        private static int indexOf(List<Header> headers, String name) {
            for (int i = 0; i < headers.size(); i++) {
                if (headers.get(i).name().equals(name)) {
                    return i;
                }
            }
            return -1;
        }

        private static void set(List<Header> headers, int at, Header header) {
            if (at >= 0) {
                headers.set(at, header);
            } else {
                headers.add(header);
            }
        }

        /** {@code Name: value}, continued on lines that begin with a space after every 72 bytes (at a character's start). */
        private static void writeHeader(ByteArrayOutputStream out, Header header) {
            byte[] line = new byte[header.name().length() + 2 + header.value().length];
            byte[] name = (header.name() + ": ").getBytes(UTF_8);
            System.arraycopy(name, 0, line, 0, name.length);
            System.arraycopy(header.value(), 0, line, name.length, header.value().length);
            if (!header.wrapped()) {
                out.writeBytes(line);
                out.writeBytes("\r\n".getBytes(UTF_8));
                return;
            }
            int start = 0;
            int width = 72;
            while (line.length - start > width) {
                int end = start + width;
                while (end > start + 1 && (line[end] & 0xC0) == 0x80) {
                    end--; // not inside a UTF-8 sequence
                }
                out.write(line, start, end - start);
                out.writeBytes("\r\n ".getBytes(UTF_8));
                start = end;
                width = 71;
            }
            out.write(line, start, line.length - start);
            out.writeBytes("\r\n".getBytes(UTF_8));
        }

        /** The main section's headers, each on one line (continuations joined). */
        private static List<String> unfold(byte[] manifest) {
            List<String> headers = new ArrayList<>();
            for (String line : new String(manifest, UTF_8).split("\r\n|\r|\n", -1)) {
                if (line.isEmpty()) {
                    break;
                }
                if (line.startsWith(" ") && !headers.isEmpty()) {
                    headers.set(headers.size() - 1, headers.getLast() + line.substring(1));
                } else {
                    headers.add(line);
                }
            }
            return headers;
        }

        /**
         * Reads a manifest by the JAR specification ({@code header: name ": " value}, a continuation
         * line begins with one space, names compared without case) and the OSGi core specification
         * (Bundle-SymbolicName's first clause, Bundle-Version's grammar, 0.0.0 when absent). A header
         * given twice says nothing.
         */
        static Reading read(byte[] manifest) {
            List<String> names = new ArrayList<>();
            List<String> values = new ArrayList<>();
            for (String line : unfold(manifest)) {
                int colon = line.indexOf(": ");
                if (colon > 0) {
                    names.add(line.substring(0, colon).toLowerCase(Locale.ROOT));
                    values.add(line.substring(colon + 2));
                }
            }
            Optional<String> bsn = only(names, values, "bundle-symbolicname").map(v -> v.split(";", 2)[0].trim());
            Optional<Version> version;
            if (!names.contains("bundle-version")) {
                version = Optional.of(Version.emptyVersion);
            } else {
                version = only(names, values, "bundle-version").flatMap(v -> {
                    try {
                        return Optional.of(Version.parseVersion(v.trim()));
                    } catch (IllegalArgumentException e) {
                        return Optional.empty();
                    }
                });
            }
            return new Reading(bsn, version);
        }

        private static Optional<String> only(List<String> names, List<String> values, String name) {
            int first = names.indexOf(name);
            return first >= 0 && first == names.lastIndexOf(name) ? Optional.of(values.get(first)) : Optional.empty();
        }

        private static String shortly(String value) {
            return value.length() > 40 ? value.substring(0, 40) + "...(" + value.length() + " chars)" : value;
        }
    }
}
