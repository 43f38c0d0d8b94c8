package io.gradus.api.runtime;

import io.gradus.api.event.Problem;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Operates the bundles of the running host. Provided by the host as a service.
 *
 * <p>Bundles that come from the watched deploy folder stay owned by it: installing writes the jar
 * there, updating replaces the file and removing deletes it, so what an operator did survives a
 * restart. Operations run one at a time, in the order they arrive, with the deploy folder's own.
 * Every failure is a {@link BundleOperationException} whose message says which bundle and what
 * went wrong.
 *
 * <p>Two kinds of bundle are protected: a bundle that a running job uses (it cannot be stopped or
 * removed under the job; an update waits until the job ends), and the host's own bundles, the
 * {@linkplain BundleInfo#guarded() guarded} ones (the framework, the console, the kernels...).
 * Operations that would change them are refused with {@link BundleOperationException.Reason#CONFLICT}
 * unless {@code force} is given.
 */
@ProviderType
public interface BundleAdmin {

    /** Every bundle, by id. */
    List<BundleInfo> bundles();

    /** One bundle, if it is installed. */
    Optional<BundleInfo> bundle(long id);

    /**
     * One bundle in detail: manifest headers, package wiring, registered services.
     *
     * @return empty if no bundle has that id
     * @since 1.2
     */
    Optional<BundleDetails> details(long id);

    /**
     * Installs and starts a bundle jar.
     *
     * @param jar the jar's bytes; read fully, not closed
     * @return the installed bundle
     * @throws BundleOperationException if the bytes are not a bundle jar (or its symbolic name is not
     *     a valid one), if a bundle with that symbolic name is already installed, or if it cannot
     *     start (the message names the missing imports)
     */
    BundleInfo install(InputStream jar);

    /** Starts a bundle. */
    BundleInfo start(long id);

    /** Stops a bundle, not forced: {@code stop(id, false)}. */
    default BundleInfo stop(long id) {
        return stop(id, false);
    }

    /**
     * Stops a bundle; its services go away, it stays installed.
     *
     * @param force stop it even if it is guarded or a running job uses it (the jobs are interrupted
     *     first: they checkpoint and stop, and can be resumed)
     * @throws BundleOperationException with {@code CONFLICT} if, not forced, the bundle is guarded
     *     or a running job uses it (the message names the jobs)
     * @since 1.1
     */
    BundleInfo stop(long id, boolean force);

    /** Updates a bundle, not forced: {@code update(id, jar, false)}. */
    default BundleInfo update(long id, InputStream jar) {
        return update(id, jar, false);
    }

    /**
     * Replaces a bundle with a new jar (usually a newer version of it) in place: same id, new
     * classes; the services it registers are re-registered from the new version. While a running
     * job uses the bundle, the update waits until the job lets go of it, unless forced; the
     * returned bundle then says so in {@link BundleInfo#pending()}.
     *
     * @param jar the new jar's bytes, or {@code null} to reload it from where it was installed from
     * @param force update a guarded bundle, or update at once after interrupting the jobs using it
     * @throws BundleOperationException with {@code CONFLICT} if, not forced, the bundle is guarded
     * @since 1.1
     */
    BundleInfo update(long id, InputStream jar, boolean force);

    /** Removes a bundle, not forced: {@code uninstall(id, false)}. */
    default void uninstall(long id) {
        uninstall(id, false);
    }

    /**
     * Removes a bundle.
     *
     * @param force remove it even if it is guarded or a running job uses it (the jobs are
     *     interrupted first)
     * @throws BundleOperationException with {@code CONFLICT} if, not forced, the bundle is guarded
     *     or a running job uses it (the message names the jobs)
     * @since 1.1
     */
    void uninstall(long id, boolean force);

    /**
     * The host's current problems, oldest first: each stays until its cause is fixed (a bad file in
     * the deploy folder replaced or removed, a bundle that did not start started or removed), a
     * bounded number of them.
     *
     * @since 1.1
     */
    List<Problem> problems();
}
