package io.gradus.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.runtime.BundleOperationException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("A bundle jar is checked before the framework sees it")
class BundleJarTest {

    @ParameterizedTest
    @ValueSource(strings = {"a", "io.gradus.plugin.lora", "my-technique", "a_b.c-d.9", "A.B"})
    @DisplayName("symbolic names by the OSGi grammar are accepted")
    void validSymbolicNames(String name) throws IOException {
        assertThat(BundleJar.isSymbolicName(name)).isTrue();
        BundleJar jar = BundleJar.of(jar(name + ";singleton:=true", "1.2.3", 1));
        assertThat(jar.symbolicName()).isEqualTo(name);
        assertThat(jar.version()).hasToString("1.2.3");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "../x", "x/..", "a..b", ".a", "a.", "a/b", "a\\b", "a b", "é"})
    @DisplayName("anything else is refused, path separators and .. included, naming the name")
    void invalidSymbolicNames(String name) throws IOException {
        assertThat(BundleJar.isSymbolicName(name)).isFalse();
        if (!name.isBlank()) {
            assertThatThrownBy(() -> BundleJar.of(jar(name, "1.0.0", 1)))
                    .isInstanceOf(BundleOperationException.class)
                    .hasMessageContaining("'" + name + "' is not a valid symbolic name");
        }
    }

    @Test
    @DisplayName("a copy cut anywhere, in an entry or in the zip's directory at the end, is refused")
    void truncatedCopies() throws IOException {
        byte[] whole = jar("io.gradus.x", "1.0.0", 20);
        assertThat(BundleJar.of(whole).symbolicName()).isEqualTo("io.gradus.x");
        for (int length = 1; length < whole.length; length++) {
            byte[] cut = Arrays.copyOf(whole, length);
            assertThatThrownBy(() -> BundleJar.of(cut)).as("cut at %d of %d bytes", cut.length, whole.length)
                    .isInstanceOf(BundleOperationException.class)
                    .extracting(e -> ((BundleOperationException) e).reason())
                    .isEqualTo(BundleOperationException.Reason.INVALID);
        }
    }

    @Test
    @DisplayName("no manifest, no symbolic name, or a bad version: refused with the reason")
    void notABundle() throws IOException {
        assertThatThrownBy(() -> BundleJar.of("plain text".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("not a jar file");
        assertThatThrownBy(() -> BundleJar.of(jar(null, "1.0.0", 1))).hasMessageContaining("no Bundle-SymbolicName");
        assertThatThrownBy(() -> BundleJar.of(jar("a", "1.x", 1))).hasMessageContaining("Bundle-Version '1.x'");
    }

    @Test
    @DisplayName("a manifest the JDK cannot read is named as the manifest, with the line")
    void unreadableManifest() throws IOException {
        byte[] good = jar("a", "1.0.0", 1);
        // The manifest entry is stored deflated: write one by hand, a header line over the JDK's 512 bytes.
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
            zip.putNextEntry(new java.util.zip.ZipEntry("META-INF/MANIFEST.MF"));
            zip.write(("Manifest-Version: 1.0\r\nBundle-SymbolicName: a\r\nImport-Package: " + "a,".repeat(300) + "b\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        assertThat(BundleJar.of(good).symbolicName()).isEqualTo("a");
        assertThatThrownBy(() -> BundleJar.of(bytes.toByteArray()))
                .hasMessage("the jar's META-INF/MANIFEST.MF cannot be read: line too long (line 3)");
    }

    @Test
    @DisplayName("a header of more than 1,000 clauses is refused at once, naming the header; commas in quotes do not count")
    void clauseLists() throws IOException {
        String thousand = String.join(",", java.util.Collections.nCopies(BundleJar.MAX_CLAUSES, "a;version=\"[1,2)\""));
        assertThat(BundleJar.of(jar("a", "1.0.0", 1, Map.of("Require-Bundle", thousand))).symbolicName()).isEqualTo("a");
        for (String header : List.of("Import-Package", "Export-Package", "Require-Bundle", "Require-Capability",
                "Provide-Capability", "DynamicImport-Package", "Bundle-NativeCode", "Bundle-ClassPath")) {
            assertThatThrownBy(() -> BundleJar.of(jar("a", "1.0.0", 1, Map.of(header, thousand + ",b"))))
                    .isInstanceOf(BundleOperationException.class)
                    .hasMessage("the jar's " + header + " has 1001 clauses, more than the 1000 a bundle Gradus installs may have"
                            + " (a damaged or runaway generated manifest?)");
        }
    }

    @Test
    @DisplayName("a long symbolic name or version is quoted cut short in the message")
    void longValuesQuotedShort() throws IOException {
        String name = "a,".repeat(5000);
        assertThatThrownBy(() -> BundleJar.of(jar(name, "1.0.0", 1)))
                .hasMessage("the jar's Bundle-SymbolicName '" + name.substring(0, 100) + "...' (10000 characters) is not a valid"
                        + " symbolic name (dot-separated words of letters, digits, '_' and '-')");
        assertThatThrownBy(() -> BundleJar.of(jar("a", "1.".repeat(100), 1))).hasMessageContaining("(200 characters)");
    }

    /** A jar with a manifest ({@code symbolicName} left out when null) and {@code entries} text entries. */
    private static byte[] jar(String symbolicName, String version, int entries) throws IOException {
        return jar(symbolicName, version, entries, Map.of());
    }

    /** As above, with more main-section headers. */
    private static byte[] jar(String symbolicName, String version, int entries, Map<String, String> headers) throws IOException {
        Manifest manifest = new Manifest();
        headers.forEach(manifest.getMainAttributes()::putValue);
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (symbolicName != null) {
            manifest.getMainAttributes().putValue("Bundle-SymbolicName", symbolicName);
        }
        manifest.getMainAttributes().putValue("Bundle-Version", version);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, manifest)) {
            for (int i = 0; i < entries; i++) {
                jar.putNextEntry(new JarEntry("entry-" + i + ".txt"));
                jar.write(("entry " + i + " ").repeat(50).getBytes(StandardCharsets.UTF_8));
                jar.closeEntry();
            }
        }
        return bytes.toByteArray();
    }
}
