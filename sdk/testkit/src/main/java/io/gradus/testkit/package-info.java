/**
 * Helpers for the unit tests of technique bundles: {@link io.gradus.testkit.TinyLlama}, a tiny
 * random model on the real engine, {@link io.gradus.testkit.GradientCheck}, analytic gradients
 * against finite differences, and {@link io.gradus.testkit.CharTokenizer}, a tokenizer of one token
 * per character with a chat template. Use it in test scope; a technique's own code imports only the
 * API.
 */
@Export
@Version("1.0.0")
package io.gradus.testkit;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
