package io.gradus.api.data;

import java.util.Objects;

/**
 * One turn of a conversation, as in TRL's conversational data sets.
 *
 * @param role {@code system}, {@code user} or {@code assistant}
 * @param content the text of the turn
 */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
