package io.gradus.host;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

    /** A Java exception's class name, as the framework writes it into its messages ("java.lang.IllegalArgumentException: "). */
    private static final Pattern EXCEPTION_NAME = Pattern.compile("\\b(?:[a-z_$][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error)\\b:? ?");

    /** The most messages of an exception and its causes that a reason joins. */
    private static final int MAX_CAUSES = 4;

    /** The most missing requirements an explanation names; it counts the others. */
    private static final int MAX_NAMED = 10;

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
        Set<String> missing = new LinkedHashSet<>();
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
        List<String> named = missing.stream().limit(MAX_NAMED).toList();
        return CANNOT_RESOLVE + "nothing installed provides " + String.join("; ", named)
                + (missing.size() > MAX_NAMED ? "; and " + (missing.size() - MAX_NAMED) + " more" : "");
    }

    /**
     * What the framework said when it refused an operation, for a person: its message followed by
     * those of its causes (Felix wraps the reason in "Update of bundle ... failed.", "Could not create
     * bundle object."), without the Java exception names it writes into them.
     */
    static String reason(Throwable failure) {
        List<String> messages = new ArrayList<>();
        for (Throwable t = failure; t != null && messages.size() < MAX_CAUSES; t = t.getCause()) {
            String message = t.getMessage() == null ? "" : EXCEPTION_NAME.matcher(t.getMessage()).replaceAll("").strip();
            if (!message.isEmpty() && messages.stream().noneMatch(m -> m.contains(message))) {
                messages.add(message.endsWith(".") ? message.substring(0, message.length() - 1) : message);
            }
        }
        return messages.isEmpty() ? "the framework gave no reason" : String.join(": ", messages);
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
        return filter.isEmpty() ? requirement.getNamespace() : requirement.getNamespace() + " " + filter;
    }
}
