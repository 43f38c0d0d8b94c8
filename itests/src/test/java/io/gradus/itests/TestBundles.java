package io.gradus.itests;

import aQute.bnd.osgi.Builder;
import aQute.bnd.osgi.Jar;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Builds bundle jars from this module's compiled test classes with bnd, as a plugin author's build
 * would: manifest and DS component descriptors generated, imports computed from the class files.
 */
final class TestBundles {

    /** Symbolic name of the bundles built from {@code io.gradus.itests.sample}. */
    static final String SAMPLE = "io.gradus.itests.sample";

    private TestBundles() {}

    /** The sample technique bundle at {@code version}. */
    static byte[] sample(String symbolicName, String version) {
        return build(Map.of(
                "Bundle-SymbolicName", symbolicName,
                "Bundle-Version", version,
                "Private-Package", "io.gradus.itests.sample"));
    }

    /** The faulty technique bundle {@code io.gradus.itests.faulty}: an objective whose step throws. */
    static byte[] faulty(String version) {
        return build(Map.of(
                "Bundle-SymbolicName", "io.gradus.itests.faulty",
                "Bundle-Version", version,
                "Private-Package", "io.gradus.itests.faulty"));
    }

    /** A bundle that imports a package nothing provides, so it can never resolve. */
    static byte[] unsatisfiable(String symbolicName) {
        return build(Map.of(
                "Bundle-SymbolicName", symbolicName,
                "Bundle-Version", "1.0.0",
                "Private-Package", "io.gradus.itests.sample",
                "Import-Package", "com.example.missing;version=\"[1.0,2)\",*"));
    }

    /**
     * A jar whose manifest names {@code symbolicName} as written, valid or not (bnd refuses to build
     * a bundle with an invalid symbolic name, as a hand-made or hostile jar would not).
     */
    static byte[] withRawSymbolicName(String symbolicName) {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().putValue("Bundle-ManifestVersion", "2");
        manifest.getMainAttributes().putValue("Bundle-SymbolicName", symbolicName);
        manifest.getMainAttributes().putValue("Bundle-Version", "1.0.0");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, manifest)) {
            jar.putNextEntry(new JarEntry("readme.txt"));
            jar.write("nothing to run".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            jar.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static byte[] build(Map<String, String> instructions) {
        try (Builder builder = new Builder()) {
            instructions.forEach(builder::setProperty);
            builder.setProperty("-dsannotations", "*");
            builder.setProperty("-noextraheaders", "true");
            for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
                File file = new File(entry);
                if (file.exists()) {
                    builder.addClasspath(file);
                }
            }
            Jar jar = builder.build();
            if (!builder.getErrors().isEmpty()) {
                throw new IllegalStateException("bnd could not build " + instructions + ": " + builder.getErrors());
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            jar.write(bytes);
            return bytes.toByteArray();
        } catch (Exception e) {
            throw new IllegalStateException("bnd could not build " + instructions, e);
        }
    }
}
