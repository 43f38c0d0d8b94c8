/** Tokenizers users already have: Hugging Face {@code tokenizer.json}. */
@Export
@Version("0.2.0")
package io.gradus.core.tokenizer;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
