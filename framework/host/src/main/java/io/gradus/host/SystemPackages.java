package io.gradus.host;

import io.gradus.api.technique.TechniqueCatalog;
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

    /** JDK packages outside java.* that bundles may use, exported when the JVM has their module. */
    private static final String VECTOR_API = "jdk.incubator.vector";

    static String extraExports() {
        String api = apiExports();
        // The CPU kernels need the Vector API; the JVM has it only when started with --add-modules.
        return ModuleLayer.boot().findModule(VECTOR_API).isPresent() ? api + "," + VECTOR_API : api;
    }

    private static String apiExports() {
        String exports = CodeSource.manifest(TechniqueCatalog.class).getMainAttributes().getValue(Constants.EXPORT_PACKAGE);
        if (exports == null) {
            throw new IllegalStateException("the Gradus API at " + CodeSource.of(TechniqueCatalog.class)
                    + " has no Export-Package header; it was not built by bnd (rebuild with ./gradus or mvn package)");
        }
        return exports;
    }
}
