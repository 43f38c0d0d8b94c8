/**
 * Events of the running system (bundles, techniques, problems, jobs) and the hub that carries
 * them to listeners such as the web console.
 */
@Export
@Version("1.2.0")
package io.gradus.api.event;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
