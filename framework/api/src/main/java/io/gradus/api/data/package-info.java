/**
 * Data as techniques see it: a tokenizer, and examples as token ids with the positions that take a
 * loss. Objectives turn the records of a JSONL data set into examples (one sequence) or
 * {@link io.gradus.api.data.SequenceGroup}s (sequences kept together: a preference pair); the trainer
 * batches them.
 */
@Export
@Version("1.1.0")
package io.gradus.api.data;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
