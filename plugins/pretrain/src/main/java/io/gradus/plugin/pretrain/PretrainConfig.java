package io.gradus.plugin.pretrain;

/**
 * Configuration of the pre-training objective: plain next-token cross-entropy has no settings of
 * its own (sequence length and batch size are hyper-parameters of the job). A job may still give
 * {@code "config": {}}; any field in it is an error, since it would be silently ignored.
 */
public record PretrainConfig() {}
