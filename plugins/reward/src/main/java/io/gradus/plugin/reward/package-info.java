/**
 * The reward bundle's published API: preference data in TRL's formats ({@link
 * io.gradus.plugin.reward.PreferenceData}), for every technique that trains on chosen/rejected pairs
 * (the {@code reward} objective, DPO), and the reward objective's configuration.
 */
@Export
@Version("1.0.0")
package io.gradus.plugin.reward;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
