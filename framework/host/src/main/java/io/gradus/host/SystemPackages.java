package io.gradus.host;

import io.gradus.api.technique.TechniqueCatalog;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.osgi.framework.Constants;

/**
 * The packages the framework's system bundle exports on top of the JDK's.
 *
 * <p>The Gradus API lives on the host's class path, because the host itself calls techniques and
 * implements the API's services; bundles must see the very same classes, so the system bundle
 * exports the API packages exactly as the API jar's bnd-generated manifest declares them (names,
 * versions and uses constraints), read at start-up rather than repeated here.
 */
final class SystemPackages {

    private SystemPackages() {}

    static String extraExports() {
        try {
            Path source = Path.of(TechniqueCatalog.class.getProtectionDomain().getCodeSource().getLocation().toURI());
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
            String exports = manifest == null ? null : manifest.getMainAttributes().getValue(Constants.EXPORT_PACKAGE);
            if (exports == null) {
                throw new IllegalStateException("the Gradus API at " + source + " has no Export-Package header; "
                        + "it was not built by bnd (rebuild with ./gradus or mvn package)");
            }
            return exports;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Gradus API manifest", e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the Gradus API jar", e);
        }
    }
}
