package io.gradus.api.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    /**
     * The messages of a record's field as parsed from JSON: a non-empty list of objects with
     * {@code role} and {@code content} strings.
     *
     * @throws IllegalArgumentException naming {@code field} when the value is not such a list
     */
    public static List<ChatMessage> listOf(Object value, String field) {
        if (!(value instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("\"" + field + "\" must be a non-empty list of {\"role\", \"content\"}");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> m) || !(m.get("role") instanceof String role)
                    || !(m.get("content") instanceof String content)) {
                throw new IllegalArgumentException("each message of \"" + field + "\" needs \"role\" and \"content\" "
                        + "strings, got " + item);
            }
            messages.add(new ChatMessage(role, content));
        }
        return messages;
    }
}
