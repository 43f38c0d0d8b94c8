/**
 * Reading and writing the files users already have: safetensors (single file or sharded with an
 * index) in F32, F16, BF16 and U8, NF4 weights in bitsandbytes' layout, and JSON files read with errors
 * a person can act on.
 */
@Export
@Version("0.3.0")
package io.gradus.core.io;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
