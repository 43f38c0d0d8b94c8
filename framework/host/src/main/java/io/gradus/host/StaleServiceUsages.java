package io.gradus.host;

import java.lang.reflect.Field;
import java.util.Map;
import org.osgi.framework.Bundle;
import org.osgi.framework.launch.Framework;

/**
 * Lets go of an uninstalled bundle that Apache Felix would keep for the life of the host.
 *
 * <p>Felix (7.0.5, and its trunk as of this writing) records every service a bundle gets in its
 * service registry's usage map ({@code ServiceRegistry.m_inUseMap}, keyed by the bundle). When a
 * bundle stops, {@code ungetServices(bundle)} releases the services it still holds, but a usage
 * whose count already went back to zero (a singleton service got and released, which SCR does for
 * every extended bundle with Configuration Admin) is skipped, and nothing else removes it while the
 * service stays registered. The uninstalled bundle, its archive, headers and revision metadata
 * (about 60 KiB for a small technique bundle; its class loader is released) then stay reachable for
 * as long as the host runs: the soak test measured the heap growing by that much per removed bundle.
 *
 * <p>After a bundle is uninstalled, this removes its entry from that map. The bundle's context is
 * invalid by then, so it cannot hold or get services any more: the entry can only be stale. The map
 * is reached by reflection into Felix's classes; on a framework without it (another version that
 * renamed the fields, another framework) it does nothing, and {@code BundleLeakTest} fails.
 */
final class StaleServiceUsages {

    private final Map<?, ?> inUse;

    private StaleServiceUsages(Map<?, ?> inUse) {
        this.inUse = inUse;
    }

    /** The usage map of {@code framework}, if it is a Felix that has one. */
    static StaleServiceUsages of(Framework framework) {
        try {
            Field registry = framework.getClass().getDeclaredField("m_registry");
            registry.setAccessible(true);
            Object serviceRegistry = registry.get(framework);
            Field usages = serviceRegistry.getClass().getDeclaredField("m_inUseMap");
            usages.setAccessible(true);
            return new StaleServiceUsages(usages.get(serviceRegistry) instanceof Map<?, ?> map ? map : null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return new StaleServiceUsages(null);
        }
    }

    /** Forgets the usages of {@code bundle}, which must be uninstalled. */
    void forget(Bundle bundle) {
        if (inUse != null && bundle.getState() == Bundle.UNINSTALLED) {
            inUse.remove(bundle);
        }
    }
}
