package io.gradus.host;

import static io.gradus.api.runtime.BundleOperationException.Reason.INVALID;

import io.gradus.api.runtime.BundleOperationException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import org.osgi.framework.Constants;
import org.osgi.framework.Version;

/**
 * A bundle jar's bytes, checked before the framework sees them: a complete, readable zip with a
 * manifest whose Bundle-SymbolicName follows the OSGi grammar and whose Bundle-Version parses.
 *
 * @param symbolicName the Bundle-SymbolicName without its directives
 * @param version the Bundle-Version (0.0.0 when absent)
 * @param bytes the jar, as validated: install from these, not from the file again
 */
record BundleJar(String symbolicName, Version version, byte[] bytes) {

    /**
     * OSGi Core, 1.3.2: {@code symbolic-name ::= token('.'token)*}, {@code token ::= (alphanum | '_'
     * | '-')+}. It rules out path separators, empty segments and so {@code ..}: the host names files
     * after symbolic names.
     */
    private static final Pattern SYMBOLIC_NAME = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*");

    /**
     * The headers that list clauses: each clause is a requirement or capability the framework's
     * resolver weighs against every other, so a header of a hundred thousand clauses (a damaged or
     * runaway generated manifest) would hold every bundle operation for a minute. A technique bundle
     * has tens; large libraries export some hundreds of packages.
     */
    private static final List<String> CLAUSE_LISTS = List.of(Constants.IMPORT_PACKAGE, Constants.EXPORT_PACKAGE,
            Constants.DYNAMICIMPORT_PACKAGE, Constants.REQUIRE_BUNDLE, Constants.REQUIRE_CAPABILITY,
            Constants.PROVIDE_CAPABILITY, Constants.BUNDLE_NATIVECODE, Constants.BUNDLE_CLASSPATH);

    static final int MAX_CLAUSES = 1000;

    /** The most characters of a manifest value a message quotes. */
    private static final int MAX_QUOTED = 100;

    /** End of central directory record: its signature, its size without comment, the longest comment. */
    private static final int EOCD_SIGNATURE = 0x06054b50;
    private static final int EOCD_SIZE = 22;
    private static final int MAX_COMMENT = 0xFFFF;
    private static final int CENTRAL_SIGNATURE = 0x02014b50;

    /**
     * Validates {@code bytes} as a bundle jar.
     *
     * @throws BundleOperationException with reason {@code INVALID} and a message that says what is
     *     wrong, for a person (the caller adds which file or upload it was)
     */
    static BundleJar of(byte[] bytes) {
        Manifest manifest = readEntries(bytes);
        checkCentralDirectory(bytes);
        if (manifest == null) {
            throw new BundleOperationException(INVALID, "the jar has no META-INF/MANIFEST.MF, so it is not an OSGi bundle");
        }
        String header = manifest.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
        if (header == null || header.isBlank()) {
            throw new BundleOperationException(INVALID, "the jar's manifest has no Bundle-SymbolicName, so it is not an OSGi bundle");
        }
        String symbolicName = header.split(";", 2)[0].trim();
        if (!isSymbolicName(symbolicName)) {
            throw new BundleOperationException(INVALID, "the jar's Bundle-SymbolicName " + quoted(symbolicName)
                    + " is not a valid symbolic name (dot-separated words of letters, digits, '_' and '-')");
        }
        String versionText = manifest.getMainAttributes().getValue(Constants.BUNDLE_VERSION);
        Version version;
        try {
            version = versionText == null ? Version.emptyVersion : Version.parseVersion(versionText.trim());
        } catch (IllegalArgumentException e) {
            throw new BundleOperationException(INVALID, "the jar's Bundle-Version " + quoted(versionText) + " is not a valid OSGi version", e);
        }
        for (String name : CLAUSE_LISTS) {
            String value = manifest.getMainAttributes().getValue(name);
            long clauses = value == null ? 0 : clauses(value);
            if (clauses > MAX_CLAUSES) {
                throw new BundleOperationException(INVALID, "the jar's " + name + " has " + clauses + " clauses, more than the "
                        + MAX_CLAUSES + " a bundle Gradus installs may have (a damaged or runaway generated manifest?)");
            }
        }
        return new BundleJar(symbolicName, version, bytes);
    }

    /** A manifest value in quotes, cut short if it is long: messages echo what the jar says, not all of it. */
    private static String quoted(String value) {
        return value.length() <= MAX_QUOTED ? "'" + value + "'"
                : "'" + value.substring(0, MAX_QUOTED) + "...' (" + value.length() + " characters)";
    }

    /** The clauses of a header: its comma-separated parts, commas inside double quotes not counted. */
    private static long clauses(String value) {
        long commas = 0;
        boolean quoted = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                commas++;
            }
        }
        return commas + 1;
    }

    /** Whether {@code name} is a symbolic name by the OSGi grammar. */
    static boolean isSymbolicName(String name) {
        return SYMBOLIC_NAME.matcher(name).matches();
    }

    /** Reads every entry to its end, which checks each entry's data and CRC; returns the manifest. */
    private static Manifest readEntries(byte[] bytes) {
        try (JarInputStream jar = openManifest(bytes)) {
            Manifest manifest = jar.getManifest();
            int entries = manifest == null ? 0 : 1;
            while (jar.getNextJarEntry() != null) {
                jar.transferTo(OutputStream.nullOutputStream());
                entries++;
            }
            if (entries == 0) {
                throw new BundleOperationException(INVALID, "not a jar file (no zip entries could be read)");
            }
            return manifest;
        } catch (IOException e) {
            throw new BundleOperationException(INVALID, "not a valid jar file: " + e.getMessage(), e);
        } catch (SecurityException e) {
            throw new BundleOperationException(INVALID, "the jar is signed but its signature does not verify: " + e.getMessage(), e);
        }
    }

    /**
     * Opens the jar as a stream, which reads its first entries, the manifest among them: a failure
     * here is the manifest's (a line over the JDK's 512 bytes, a header name that is not one).
     */
    private static JarInputStream openManifest(byte[] bytes) {
        try {
            return new JarInputStream(new ByteArrayInputStream(bytes));
        } catch (IOException e) {
            throw new BundleOperationException(INVALID, "the jar's META-INF/MANIFEST.MF cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * The framework opens a bundle through the zip's central directory, the table of contents at the
     * end of the file, which a stream of entries never reads: a copy cut off after its last entry
     * reads as a stream but not as a zip. Checks that the end record is there and points at a
     * central directory inside the file.
     */
    private static void checkCentralDirectory(byte[] bytes) {
        ByteBuffer zip = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int lowest = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
        for (int at = bytes.length - EOCD_SIZE; at >= lowest; at--) {
            if (zip.getInt(at) == EOCD_SIGNATURE) {
                long size = Integer.toUnsignedLong(zip.getInt(at + 12));
                long offset = Integer.toUnsignedLong(zip.getInt(at + 16));
                if (offset + size <= at && (size == 0 || zip.getInt((int) offset) == CENTRAL_SIGNATURE)) {
                    return;
                }
                break;
            }
        }
        throw new BundleOperationException(INVALID,
                "not a complete jar file: the zip's central directory at its end is missing or cut off (a truncated copy?)");
    }

    @Override
    public String toString() {
        return symbolicName + " " + version;
    }

    /** Reads a whole upload or file. */
    static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BundleOperationException(INVALID, "could not read the jar: " + e.getMessage(), e);
        }
    }
}
