/**
 * The job specification: what a training job is made of. A job file (JSON or YAML) binds to
 * {@link io.gradus.api.job.JobSpec}; techniques' own settings stay untyped here and are bound by the
 * host to each technique's configuration record.
 */
@Export
@Version("1.2.0")
package io.gradus.api.job;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
