/**
 * Techniques: the two families of pluggable training methods.
 *
 * <p>A <em>tuner</em> ({@link io.gradus.api.technique.Tuner}) decides which parameters change and how
 * the model is rewritten (full fine-tuning, LoRA, adapters, NF4 + LoRA). An <em>objective</em>
 * ({@link io.gradus.api.technique.Objective}) decides what the loss is (pre-training, SFT, reward,
 * DPO, PPO). A bundle contributes a technique by registering one of these interfaces as an OSGi
 * service with a {@link io.gradus.api.technique.TechniqueName} property; the technique's version is
 * the version of the bundle that registers it.
 *
 * <p>A technique's configuration record may describe its components with {@link
 * io.gradus.api.technique.Setting}; {@link io.gradus.api.technique.ConfigSchemas} turns any such record
 * into a {@link io.gradus.api.technique.ConfigSchema} (since 1.2).
 */
@Export
@Version("1.2.0")
package io.gradus.api.technique;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
