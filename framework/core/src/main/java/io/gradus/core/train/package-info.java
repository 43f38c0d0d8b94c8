/**
 * Training: the AdamW optimizer, learning-rate schedules, batches of packed token streams, and the
 * trainer loop with gradient accumulation, clipping, metrics and exactly resumable checkpoints.
 */
@Export
@Version("0.3.0")
package io.gradus.core.train;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
