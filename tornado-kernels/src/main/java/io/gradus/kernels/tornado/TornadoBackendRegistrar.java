package io.gradus.kernels.tornado;

import io.gradus.api.kernel.KernelBackend;
import java.util.Dictionary;
import java.util.Hashtable;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Offers the {@code tornado} backend when this JVM carries TornadoVM (launched with a TornadoVM
 * SDK's argfile, whose API the system bundle then exports) and nothing otherwise. It only checks
 * that the classes are there; whether a kernel really runs on the device is for whoever selects a
 * backend to find out (the host runs a first kernel before it chooses this one).
 *
 * <p>This class must not mention a TornadoVM type: it is loaded on JVMs without TornadoVM too.
 */
@Component(immediate = true)
public final class TornadoBackendRegistrar {

    private static final String TORNADO_API = "uk.ac.manchester.tornado.api.TaskGraph";

    private ServiceRegistration<KernelBackend> registration;
    private AutoCloseable backend;

    @Activate
    void activate(BundleContext context) {
        if (!tornadoPresent()) {
            return;
        }
        TornadoKernelBackend tornado = new TornadoKernelBackend();
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(KernelBackend.NAME_PROPERTY, tornado.name());
        backend = tornado;
        registration = context.registerService(KernelBackend.class, tornado, properties);
    }

    @Deactivate
    void deactivate() throws Exception {
        if (registration != null) {
            registration.unregister();
            backend.close();
        }
    }

    private static boolean tornadoPresent() {
        try {
            Class.forName(TORNADO_API, false, TornadoBackendRegistrar.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
