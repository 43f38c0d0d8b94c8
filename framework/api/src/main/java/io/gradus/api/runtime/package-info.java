/**
 * The running system as operators see it: bundles, their techniques and problems, and the
 * operations that install, start, stop, update and remove bundles while the host runs.
 */
@Export
@Version("1.2.0")
package io.gradus.api.runtime;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
