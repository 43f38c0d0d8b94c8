package io.gradus.itests;

import aQute.bnd.osgi.Builder;
import aQute.bnd.osgi.Jar;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.util.Map;

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

    /** A bundle that imports a package nothing provides, so it can never resolve. */
    static byte[] unsatisfiable(String symbolicName) {
        return build(Map.of(
                "Bundle-SymbolicName", symbolicName,
                "Bundle-Version", "1.0.0",
                "Private-Package", "io.gradus.itests.sample",
                "Import-Package", "com.example.missing;version=\"[1.0,2)\",*"));
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
