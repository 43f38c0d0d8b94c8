package io.gradus.api.generation;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Generates text with a model the host loads: the console's chat and anyone else who wants a
 * model's answer. Provided by the host as a service. Each call loads its model, runs on the
 * caller's thread and streams: every token reaches the sink as soon as it is decoded.
 */
@ProviderType
public interface GenerationService {

    /**
     * Continues the request's prompt (or conversation), handing each new token to {@code sink}; the
     * sink answering {@code false} stops generation there.
     *
     * @return what was generated and why it stopped
     * @throws GenerationException INVALID for a bad request (the message names the field), NOT_FOUND
     *     for a job or folder that is not there, FAILED when the model cannot be loaded or run
     */
    GenerationResult generate(GenerationRequest request, TokenSink sink);
}
