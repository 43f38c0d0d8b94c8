/**
 * The model as techniques see it: named parameters with trainable flags, token batches, and the
 * {@link io.gradus.api.model.ModelRunner} through which objectives run forward and backward passes;
 * the modules tuners change: {@link io.gradus.api.model.Linear} modules they replace and
 * {@link io.gradus.api.model.InsertedModule}s they insert at a layer's
 * {@link io.gradus.api.model.InsertionPoint}s.
 *
 * <p>Shapes are row-major over flat {@code float[]} arrays; the legend used throughout Gradus is
 * B = batch size, T = sequence length, C = hidden size, V = vocabulary size.
 */
@Export
@Version("1.2.0")
package io.gradus.api.model;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
