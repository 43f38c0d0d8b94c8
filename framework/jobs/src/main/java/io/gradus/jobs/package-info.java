/** Running training jobs: a job file in, a trained model, metrics and provenance out. */
package io.gradus.jobs;
