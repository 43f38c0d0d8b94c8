package io.gradus.host;

import io.gradus.api.event.EventHub;
import io.gradus.api.event.TechniqueChanged;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.Technique;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.Version;
import org.osgi.framework.VersionRange;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;

/**
 * {@link TechniqueCatalog} backed by a live {@link ServiceTracker} over every tuner and objective
 * service that carries a {@link TechniqueName}. No static lists: a bundle that registers a technique
 * appears here, one that stops disappears, and both are published as {@link TechniqueChanged}.
 */
final class RegistryTechniqueCatalog implements TechniqueCatalog, AutoCloseable {

    private record Entry(TechniqueDescriptor descriptor, Technique<?> technique) {}

    private static final Comparator<TechniqueDescriptor> ORDER = Comparator.comparing(TechniqueDescriptor::family)
            .thenComparing(TechniqueDescriptor::name)
            .thenComparing(d -> Version.valueOf(d.version()));

    private final Map<ServiceReference<Object>, Entry> entries = new ConcurrentHashMap<>();
    private final ServiceTracker<Object, Entry> tracker;

    RegistryTechniqueCatalog(BundleContext context, EventHub events) {
        this.tracker = new ServiceTracker<>(context, techniqueFilter(context), new Customizer(context, events));
        this.tracker.open(true);
    }

    private static Filter techniqueFilter(BundleContext context) {
        String filter = "(&(" + TechniqueName.PROPERTY + "=*)(|(objectClass=" + Tuner.class.getName()
                + ")(objectClass=" + Objective.class.getName() + ")))";
        try {
            return context.createFilter(filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException("bad technique filter " + filter, e);
        }
    }

    @Override
    public List<TechniqueDescriptor> techniques() {
        return entries.values().stream().map(Entry::descriptor).sorted(ORDER).toList();
    }

    @Override
    public Optional<Found<Tuner<?>>> tuner(String name, String versionRange) {
        return find(TechniqueFamily.TUNER, name, versionRange)
                .map(e -> new Found<>(e.descriptor(), (Tuner<?>) e.technique()));
    }

    @Override
    public Optional<Found<Objective<?>>> objective(String name, String versionRange) {
        return find(TechniqueFamily.OBJECTIVE, name, versionRange)
                .map(e -> new Found<>(e.descriptor(), (Objective<?>) e.technique()));
    }

    private Optional<Entry> find(TechniqueFamily family, String name, String versionRange) {
        VersionRange range = versionRange == null || versionRange.isBlank()
                ? null
                : VersionRange.valueOf(versionRange.trim());
        return entries.values().stream()
                .filter(e -> e.descriptor().family() == family && e.descriptor().name().equals(name))
                .filter(e -> range == null || range.includes(Version.valueOf(e.descriptor().version())))
                .max(Comparator.comparing(e -> Version.valueOf(e.descriptor().version())));
    }

    @Override
    public void close() {
        tracker.close();
    }

    private final class Customizer implements ServiceTrackerCustomizer<Object, Entry> {
        private final BundleContext context;
        private final EventHub events;

        Customizer(BundleContext context, EventHub events) {
            this.context = context;
            this.events = events;
        }

        @Override
        public Entry addingService(ServiceReference<Object> reference) {
            Object service = context.getService(reference);
            if (!(service instanceof Technique<?> technique)) {
                // Registered under our interface name but from another class space: not usable here.
                context.ungetService(reference);
                return null;
            }
            TechniqueFamily family = service instanceof Tuner<?> ? TechniqueFamily.TUNER : TechniqueFamily.OBJECTIVE;
            var bundle = reference.getBundle();
            var descriptor = new TechniqueDescriptor(
                    String.valueOf(reference.getProperty(TechniqueName.PROPERTY)),
                    family,
                    bundle.getVersion().toString(),
                    technique.description(),
                    bundle.getBundleId(),
                    bundle.getSymbolicName());
            Entry entry = new Entry(descriptor, technique);
            entries.put(reference, entry);
            publish(descriptor, "REGISTERED");
            return entry;
        }

        @Override
        public void modifiedService(ServiceReference<Object> reference, Entry entry) {}

        @Override
        public void removedService(ServiceReference<Object> reference, Entry entry) {
            entries.remove(reference);
            context.ungetService(reference);
            publish(entry.descriptor(), "UNREGISTERED");
        }

        private void publish(TechniqueDescriptor d, String change) {
            events.publish(new TechniqueChanged(
                    Instant.now(), d.name(), d.family().label(), d.version(), d.bundleId(), change));
        }
    }
}
