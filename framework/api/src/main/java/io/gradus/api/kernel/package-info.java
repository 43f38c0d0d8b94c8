/**
 * The one interface every hot loop goes through. Implementations live in {@code tornado-kernels}:
 * a pure-Java CPU backend (the default) and a TornadoVM backend for GPUs.
 *
 * <p>Layouts: all tensors are flat, row-major {@code float[]}; a "row" is the innermost dimension.
 */
@Export
@Version("1.3.0")
package io.gradus.api.kernel;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
