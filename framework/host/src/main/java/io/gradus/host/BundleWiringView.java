package io.gradus.host;

import io.gradus.api.runtime.BundleDetails;
import io.gradus.api.runtime.BundleDetails.PackageWire;
import io.gradus.api.runtime.BundleDetails.ServiceInfo;
import io.gradus.api.runtime.BundleInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRequirement;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;

/**
 * A bundle's manifest, package wiring and services, read from the framework for
 * {@link io.gradus.api.runtime.BundleAdmin#details(long)}: what is wired where once the bundle is
 * resolved; what it asks for and offers (from its revision) while it is not.
 */
final class BundleWiringView {

    private static final Pattern PACKAGE = Pattern.compile("\\(" + Pattern.quote(PackageNamespace.PACKAGE_NAMESPACE) + "=([^)]*)\\)");
    private static final Pattern LOWER = Pattern.compile("(?<!!)\\(version>=([^)]*)\\)");
    private static final Pattern UPPER = Pattern.compile("\\(!\\(version>=([^)]*)\\)\\)");

    private BundleWiringView() {}

    static BundleDetails of(Bundle bundle, BundleInfo info) {
        BundleWiring wiring = bundle.adapt(BundleWiring.class);
        BundleRevision revision = bundle.adapt(BundleRevision.class);
        return new BundleDetails(info, headers(bundle), imports(wiring, revision), exports(wiring, revision), services(bundle));
    }

    private static Map<String, String> headers(Bundle bundle) {
        Map<String, String> headers = new TreeMap<>();
        Dictionary<String, String> raw = bundle.getHeaders("");
        for (String key : Collections.list(raw.keys())) {
            headers.put(key, raw.get(key));
        }
        return headers;
    }

    /** Wired imports with their provider; requirements nothing satisfies (optional, or unresolved) with their range. */
    private static List<PackageWire> imports(BundleWiring wiring, BundleRevision revision) {
        List<PackageWire> imports = new ArrayList<>();
        List<BundleRequirement> requirements = wiring != null
                ? wiring.getRequirements(PackageNamespace.PACKAGE_NAMESPACE)
                : revision == null ? List.of() : revision.getDeclaredRequirements(PackageNamespace.PACKAGE_NAMESPACE);
        List<BundleWire> wires = wiring != null ? wiring.getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE) : List.of();
        for (BundleWire wire : wires) {
            BundleCapability capability = wire.getCapability();
            imports.add(new PackageWire(packageName(capability), String.valueOf(capability.getAttributes().get(
                    PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE)), List.of(FrameworkBundleAdmin.describe(
                    wire.getProvider().getBundle())), optional(wire.getRequirement())));
        }
        for (BundleRequirement requirement : requirements) {
            if (wires.stream().noneMatch(w -> w.getRequirement().equals(requirement))
                    && !PackageNamespace.RESOLUTION_DYNAMIC.equals(requirement.getDirectives().get(
                            PackageNamespace.REQUIREMENT_RESOLUTION_DIRECTIVE))) {
                String filter = Objects.toString(requirement.getDirectives().get(PackageNamespace.REQUIREMENT_FILTER_DIRECTIVE), "");
                imports.add(new PackageWire(group(PACKAGE, filter, "?"), range(filter), List.of(), optional(requirement)));
            }
        }
        imports.sort(Comparator.comparing(PackageWire::name));
        return imports;
    }

    private static List<PackageWire> exports(BundleWiring wiring, BundleRevision revision) {
        List<BundleCapability> capabilities = wiring != null
                ? wiring.getCapabilities(PackageNamespace.PACKAGE_NAMESPACE)
                : revision == null ? List.of() : revision.getDeclaredCapabilities(PackageNamespace.PACKAGE_NAMESPACE);
        List<BundleWire> provided = wiring != null ? wiring.getProvidedWires(PackageNamespace.PACKAGE_NAMESPACE) : List.of();
        List<PackageWire> exports = new ArrayList<>();
        for (BundleCapability capability : capabilities) {
            List<String> importers = provided.stream()
                    .filter(w -> w.getCapability().equals(capability))
                    .map(w -> FrameworkBundleAdmin.describe(w.getRequirer().getBundle()))
                    .distinct().sorted().toList();
            exports.add(new PackageWire(packageName(capability), String.valueOf(capability.getAttributes().get(
                    PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE)), importers, false));
        }
        exports.sort(Comparator.comparing(PackageWire::name));
        return exports;
    }

    private static List<ServiceInfo> services(Bundle bundle) {
        ServiceReference<?>[] registered = bundle.getState() == Bundle.UNINSTALLED ? null : bundle.getRegisteredServices();
        if (registered == null) {
            return List.of();
        }
        List<ServiceInfo> services = new ArrayList<>();
        for (ServiceReference<?> reference : registered) {
            Map<String, String> properties = new LinkedHashMap<>();
            for (String key : reference.getPropertyKeys()) {
                properties.put(key, text(reference.getProperty(key)));
            }
            Bundle[] users = reference.getUsingBundles();
            services.add(new ServiceInfo(
                    (Long) reference.getProperty(Constants.SERVICE_ID),
                    List.of((String[]) reference.getProperty(Constants.OBJECTCLASS)),
                    properties,
                    users == null ? List.of() : Arrays.stream(users).map(FrameworkBundleAdmin::describe).sorted().toList()));
        }
        services.sort(Comparator.comparingLong(ServiceInfo::id));
        return services;
    }

    private static String packageName(BundleCapability capability) {
        return String.valueOf(capability.getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE));
    }

    private static boolean optional(BundleRequirement requirement) {
        return PackageNamespace.RESOLUTION_OPTIONAL.equals(
                requirement.getDirectives().get(PackageNamespace.REQUIREMENT_RESOLUTION_DIRECTIVE));
    }

    /** The version range of a package requirement's filter, in OSGi's notation ({@code [1.0.0,2.0.0)}). */
    static String range(String filter) {
        String lower = group(LOWER, filter, null);
        String upper = group(UPPER, filter, null);
        if (lower == null) {
            return upper == null ? "any" : "[0.0.0," + upper + ")";
        }
        return upper == null ? lower : "[" + lower + "," + upper + ")";
    }

    private static String group(Pattern pattern, String text, String fallback) {
        Matcher m = pattern.matcher(text);
        return m.find() ? m.group(1) : fallback;
    }

    private static String text(Object value) {
        return switch (value) {
            case null -> "";
            case Object[] array -> Arrays.toString(array);
            case int[] array -> Arrays.toString(array);
            case long[] array -> Arrays.toString(array);
            default -> value.toString();
        };
    }
}
