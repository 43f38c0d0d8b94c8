/** The built-in corpus: WordNet's definitions and examples, with a fixed held-out split. */
@Export
@Version("0.1.0")
package io.gradus.core.corpus;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
