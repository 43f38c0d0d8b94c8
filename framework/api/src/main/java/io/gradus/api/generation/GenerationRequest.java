package io.gradus.api.generation;

import io.gradus.api.data.ChatMessage;
import java.util.List;

/**
 * One generation: a model, what to continue, and how.
 *
 * @param model which model; {@code null} means the built-in one
 * @param prompt text to continue as it is, or {@code null} when {@code messages} is given
 * @param messages a conversation, rendered with the model's chat template (which must have one)
 *     followed by the assistant's turn; or {@code null}/empty when {@code prompt} is given
 * @param settings how tokens are chosen; {@code null} means every default
 */
public record GenerationRequest(ModelSource model, String prompt, List<ChatMessage> messages, GenerationSettings settings) {

    public GenerationRequest {
        model = model == null ? ModelSource.builtIn() : model;
        messages = messages == null ? List.of() : List.copyOf(messages);
        settings = settings == null ? GenerationSettings.defaults() : settings;
        boolean hasPrompt = prompt != null && !prompt.isEmpty();
        if (hasPrompt == !messages.isEmpty()) {
            throw new IllegalArgumentException("give either a prompt or messages (a conversation), "
                    + (hasPrompt ? "not both" : "one of them"));
        }
    }
}
