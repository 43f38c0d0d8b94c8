package io.gradus.api.runtime;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything about one bundle an operator looks at when something does not work: its manifest,
 * how it is wired to other bundles, and the services it offers.
 *
 * @param bundle the bundle as {@link BundleAdmin#bundles()} shows it
 * @param headers its manifest headers, by name
 * @param imports the packages it imports: each with the version it is wired to and the bundle that
 *     provides it, or, while it is not resolved, the version range it asks for and no provider
 * @param exports the packages it exports, each with its version and the bundles importing it
 * @param services the services it registers right now
 * @since 1.2
 */
public record BundleDetails(
        BundleInfo bundle,
        Map<String, String> headers,
        List<PackageWire> imports,
        List<PackageWire> exports,
        List<ServiceInfo> services) {

    public BundleDetails {
        Objects.requireNonNull(bundle, "bundle");
        headers = Map.copyOf(headers);
        imports = List.copyOf(imports);
        exports = List.copyOf(exports);
        services = List.copyOf(services);
    }

    /**
     * A package between bundles.
     *
     * @param name the package
     * @param version the version wired or exported, or the range asked for when nothing provides it
     * @param bundles the other side, each as {@code symbolic.name version [id]}: the provider of an
     *     import, the importers of an export; empty when there is none
     * @param optional whether an import is optional ({@code resolution:=optional}); false for exports
     */
    public record PackageWire(String name, String version, List<String> bundles, boolean optional) {

        public PackageWire {
            Objects.requireNonNull(name, "name");
            bundles = List.copyOf(bundles);
        }
    }

    /**
     * A registered service.
     *
     * @param id its service id
     * @param interfaces the names it is registered under ({@code objectClass})
     * @param properties its properties, each as text
     * @param usedBy the bundles that use it, each as {@code symbolic.name version [id]}
     */
    public record ServiceInfo(long id, List<String> interfaces, Map<String, String> properties, List<String> usedBy) {

        public ServiceInfo {
            interfaces = List.copyOf(interfaces);
            properties = Map.copyOf(properties);
            usedBy = List.copyOf(usedBy);
        }
    }
}
