package io.gradus.itests.sample;

/**
 * @param trainable regular expression of the parameter names that train
 */
public record SampleConfig(String trainable) {}
