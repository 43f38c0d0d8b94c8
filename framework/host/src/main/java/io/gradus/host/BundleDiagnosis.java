package io.gradus.host;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.resource.Namespace;
import org.osgi.resource.Requirement;

/**
 * Explains, in words, why a bundle does not resolve: the mandatory requirements (imports, required
 * bundles, capabilities) that nothing installed provides.
 */
final class BundleDiagnosis {

    private static final Pattern PACKAGE = Pattern.compile("\\(" + PackageNamespace.PACKAGE_NAMESPACE + "=([^)]+)\\)");
    private static final Pattern VERSION_BOUND = Pattern.compile("\\((!?)\\(?version([<>]?=)([^)]+)\\)");

    /** How every explanation of a bundle that cannot resolve begins. */
    static final String CANNOT_RESOLVE = "cannot resolve: ";

    private BundleDiagnosis() {}

    /**
     * Why {@code bundle} is not working, or {@code null} if nothing is wrong that can be seen from
     * its wiring (it resolved, or it is a fragment waiting for its host).
     */
    static String explain(Bundle bundle, FrameworkWiring wiring) {
        if (bundle.getState() != Bundle.INSTALLED) {
            return null;
        }
        BundleRevision revision = bundle.adapt(BundleRevision.class);
        if (revision == null) {
            return null;
        }
        List<String> missing = new ArrayList<>();
        for (Requirement requirement : revision.getRequirements(null)) {
            Map<String, String> directives = requirement.getDirectives();
            boolean optional = Namespace.RESOLUTION_OPTIONAL.equals(directives.get(Namespace.REQUIREMENT_RESOLUTION_DIRECTIVE));
            String effective = directives.getOrDefault(Namespace.REQUIREMENT_EFFECTIVE_DIRECTIVE, Namespace.EFFECTIVE_RESOLVE);
            if (optional || !Namespace.EFFECTIVE_RESOLVE.equals(effective)) {
                continue;
            }
            if (requirement instanceof org.osgi.framework.wiring.BundleRequirement bundleRequirement
                    && wiring.findProviders(bundleRequirement).isEmpty()) {
                missing.add(describe(requirement));
            }
        }
        if (missing.isEmpty()) {
            return "not resolved yet (all its requirements have providers; a provider may itself be unresolved)";
        }
        return CANNOT_RESOLVE + "nothing installed provides " + String.join("; ", missing);
    }

    /** "package com.example.missing (version >= 1.0.0)" rather than a raw LDAP filter. */
    static String describe(Requirement requirement) {
        String filter = requirement.getDirectives().getOrDefault(Constants.FILTER_DIRECTIVE, "");
        if (PackageNamespace.PACKAGE_NAMESPACE.equals(requirement.getNamespace())) {
            Matcher name = PACKAGE.matcher(filter);
            if (name.find()) {
                StringBuilder text = new StringBuilder("package ").append(name.group(1));
                Matcher bound = VERSION_BOUND.matcher(filter);
                List<String> bounds = new ArrayList<>();
                while (bound.find()) {
                    String op = bound.group(2);
                    if (!bound.group(1).isEmpty()) {
                        op = op.equals(">=") ? "<" : op.equals("<=") ? ">" : "!=";
                    }
                    bounds.add("version " + op + " " + bound.group(3));
                }
                if (!bounds.isEmpty()) {
                    text.append(" (").append(String.join(", ", bounds)).append(')');
                }
                return text.toString();
            }
        }
        return requirement.getNamespace() + " " + filter;
    }
}
