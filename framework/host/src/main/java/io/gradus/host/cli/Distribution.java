package io.gradus.host.cli;

import io.gradus.host.HostSettings;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The assembled distribution the command line runs from (built by {@code bundles/}): {@code lib/}
 * (the host's class path), {@code system/} (runtime bundles), {@code deploy/} (technique bundles,
 * watched) and {@code var/} (state).
 */
final class Distribution {

    /** System property the {@code gradus} script sets to the distribution folder. */
    static final String HOME_PROPERTY = "gradus.home";

    private Distribution() {}

    /** The distribution folder: {@code -Dgradus.home}, else the folder above the host jar's {@code lib/}. */
    static Path home() {
        String configured = System.getProperty(HOME_PROPERTY);
        Path home = configured != null ? Path.of(configured) : codeSource().getParent().getParent();
        if (!Files.isDirectory(home.resolve("system"))) {
            throw new IllegalStateException("no Gradus distribution at " + home.toAbsolutePath()
                    + " (expected a system/ folder); build one with ./gradus or mvn package");
        }
        return home.toAbsolutePath().normalize();
    }

    static HostSettings settings() {
        return HostSettings.forDistribution(home());
    }

    /** The host's version, from its jar's bnd-generated manifest. */
    static String version() {
        Path source = codeSource();
        try {
            Manifest manifest;
            if (Files.isDirectory(source)) {
                try (InputStream in = Files.newInputStream(source.resolve("META-INF/MANIFEST.MF"))) {
                    manifest = new Manifest(in);
                }
            } else {
                try (JarFile jar = new JarFile(source.toFile())) {
                    manifest = jar.getManifest();
                }
            }
            String version = manifest.getMainAttributes().getValue("Bundle-Version");
            return version == null ? "(unknown version)" : version;
        } catch (IOException e) {
            return "(unknown version)";
        }
    }

    private static Path codeSource() {
        try {
            return Path.of(Distribution.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
