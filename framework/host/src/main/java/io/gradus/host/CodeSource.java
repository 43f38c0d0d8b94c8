package io.gradus.host;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/** Where a class was loaded from (a jar, or a classes folder in a development build) and its manifest. */
public final class CodeSource {

    private CodeSource() {}

    /** The jar or folder {@code type} was loaded from. */
    public static Path of(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the code of " + type.getName(), e);
        }
    }

    /** The manifest of the jar or folder {@code type} was loaded from (bnd writes one into both). */
    public static Manifest manifest(Class<?> type) {
        Path source = of(type);
        try {
            if (Files.isDirectory(source)) {
                try (InputStream in = Files.newInputStream(source.resolve("META-INF/MANIFEST.MF"))) {
                    return new Manifest(in);
                }
            }
            try (JarFile jar = new JarFile(source.toFile())) {
                Manifest manifest = jar.getManifest();
                if (manifest == null) {
                    throw new IllegalStateException(source + " has no META-INF/MANIFEST.MF");
                }
                return manifest;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the manifest of " + source, e);
        }
    }
}
