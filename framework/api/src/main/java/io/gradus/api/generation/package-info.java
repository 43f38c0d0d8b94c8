/**
 * Talking to a model inside the host: a base model, the base with a saved adapter, or a job's
 * latest result, continued token by token ({@link io.gradus.api.generation.GenerationService}).
 */
@Export
@Version("1.0.0")
package io.gradus.api.generation;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
