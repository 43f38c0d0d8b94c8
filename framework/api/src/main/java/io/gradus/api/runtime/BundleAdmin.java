package io.gradus.api.runtime;

import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Operates the bundles of the running host. Provided by the host as a service.
 *
 * <p>Bundles that come from the watched deploy folder stay owned by it: installing writes the jar
 * there, updating replaces the file and removing deletes it, so what an operator did survives a
 * restart. Every failure is a {@link BundleOperationException} whose message says which bundle and
 * what went wrong.
 */
@ProviderType
public interface BundleAdmin {

    /** Every bundle, by id. */
    List<BundleInfo> bundles();

    /** One bundle, if it is installed. */
    Optional<BundleInfo> bundle(long id);

    /**
     * Installs and starts a bundle jar.
     *
     * @param jar the jar's bytes; read fully, not closed
     * @return the installed bundle
     * @throws BundleOperationException if the bytes are not a bundle jar, if that bundle and version
     *     are already installed, or if it cannot start (the message names the missing imports)
     */
    BundleInfo install(InputStream jar);

    /** Starts a bundle. */
    BundleInfo start(long id);

    /** Stops a bundle; its services go away, it stays installed. */
    BundleInfo stop(long id);

    /**
     * Replaces a bundle with a new jar (usually a newer version of it) in place: same id, new
     * classes; the services it registers are re-registered from the new version.
     *
     * @param jar the new jar's bytes, or {@code null} to reload it from where it was installed from
     */
    BundleInfo update(long id, InputStream jar);

    /** Removes a bundle. */
    void uninstall(long id);
}
