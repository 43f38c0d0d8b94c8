package io.gradus.host;

import io.gradus.api.technique.TechniqueCatalog;
import java.lang.module.ModuleDescriptor;
import java.util.Optional;
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

    /** A package of TornadoVM's API, to find its module in the boot layer. */
    static final String TORNADO_API = "uk.ac.manchester.tornado.api";

    static String extraExports() {
        StringBuilder exports = new StringBuilder(apiExports());
        // The CPU kernels need the Vector API; the JVM has it only when started with --add-modules.
        if (ModuleLayer.boot().findModule(VECTOR_API).isPresent()) {
            exports.append(',').append(VECTOR_API);
        }
        // TornadoVM cannot be loaded into a running JVM: when the JVM was launched with a TornadoVM
        // SDK, its API is in the boot layer and bundles get it from the system bundle.
        tornadoApi().ifPresent(module -> module.getDescriptor().exports().stream()
                .filter(export -> !export.isQualified())
                .map(ModuleDescriptor.Exports::source)
                .sorted()
                .forEach(pkg -> exports.append(',').append(pkg)));
        return exports.toString();
    }

    /** The boot-layer module that holds TornadoVM's API, when this JVM was launched with TornadoVM. */
    static Optional<Module> tornadoApi() {
        return ModuleLayer.boot().modules().stream()
                .filter(module -> module.getDescriptor() != null && module.getDescriptor().exports().stream()
                        .anyMatch(export -> !export.isQualified() && export.source().equals(TORNADO_API)))
                .findFirst();
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
