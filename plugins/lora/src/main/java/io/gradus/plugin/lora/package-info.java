/**
 * LoRA's published API: its configuration record, for techniques that apply LoRA through the
 * {@code lora} tuner service (for example QLoRA, which puts LoRA on an NF4 base). The service is
 * the {@link io.gradus.api.technique.Tuner} registered with the technique name {@code lora}.
 */
@Export
@Version("1.0.0")
package io.gradus.plugin.lora;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
