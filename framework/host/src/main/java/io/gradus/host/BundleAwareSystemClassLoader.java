package io.gradus.host;

import java.net.URL;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * A system class loader that can also hand out the {@code .class} files of installed bundles, as
 * resources only. TornadoVM reads a kernel's bytecode through
 * {@code ClassLoader.getSystemClassLoader().getResourceAsStream(...)} to find its {@code @Parallel}
 * loops, and kernel classes live in a bundle, which the JDK's system class loader cannot see.
 *
 * <p>Installed with {@code -Djava.system.class.loader=io.gradus.host.BundleAwareSystemClassLoader}
 * (the {@code gradus} script does so when it launches with TornadoVM). Classes still load as before
 * (every class through the parent, the JDK's application class loader); only a resource the parent
 * does not have is looked up in the bundles of the running host, newest revision first, so a
 * hot-swapped kernel bundle is read as it is now. This keeps kernel classes out of the JVM's
 * class path, where a copy would go stale on the first bundle update.
 */
public final class BundleAwareSystemClassLoader extends ClassLoader {

    static {
        registerAsParallelCapable();
    }

    private static volatile BundleContext host;

    /** Called by the JVM with the application class loader as parent. */
    public BundleAwareSystemClassLoader(ClassLoader parent) {
        super("gradus-system", parent);
    }

    /** Serves the class files of {@code context}'s framework (the latest host started wins). */
    static void serve(BundleContext context) {
        host = context;
    }

    /** Stops serving {@code context}'s bundles, if they are the ones served. */
    static void stopServing(BundleContext context) {
        if (host == context) {
            host = null;
        }
    }

    @Override
    protected URL findResource(String name) {
        BundleContext context = host;
        if (context == null || !name.endsWith(".class")) {
            return null;
        }
        try {
            Bundle[] bundles = context.getBundles();
            for (int i = bundles.length - 1; i > 0; i--) { // newest first; 0 is the system bundle
                Bundle bundle = bundles[i];
                if ((bundle.getState() & (Bundle.RESOLVED | Bundle.STARTING | Bundle.ACTIVE | Bundle.STOPPING)) != 0) {
                    URL entry = bundle.getEntry(name);
                    if (entry != null) {
                        return entry;
                    }
                }
            }
        } catch (IllegalStateException e) {
            // The framework is stopping: its bundles have nothing more to serve.
        }
        return null;
    }
}
