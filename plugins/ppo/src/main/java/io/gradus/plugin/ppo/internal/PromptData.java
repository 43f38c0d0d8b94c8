package io.gradus.plugin.ppo.internal;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import java.util.List;
import java.util.Map;

/**
 * PPO's prompt records, as TRL's PPO data sets hold them: the model continues each prompt, so nothing
 * is appended to it and none of its tokens is a training target.
 * <ul>
 *   <li>{@code {"prompt": "text"}}: BOS + the text's tokens;</li>
 *   <li>{@code {"prompt": [messages]}} (conversational): the messages rendered with the model's chat
 *       template, ending with the header of an assistant turn, with one BOS ({@link TextTokenizer#encodeChat});</li>
 *   <li>{@code {"input_ids": [...]}} or {@code {"prompt_input_ids": [...]}} (pre-tokenized, TRL's PPO
 *       example tokenizes its prompts into {@code input_ids}): used exactly as given.</li>
 * </ul>
 */
final class PromptData {

    private static final List<String> TOKEN_FIELDS = List.of("input_ids", "prompt_input_ids");

    private PromptData() {}

    /**
     * The record's prompt.
     *
     * @throws IllegalArgumentException naming the field that is missing, empty or of the wrong type
     */
    static Example prompt(Map<String, Object> record, TextTokenizer tokenizer) {
        for (String field : TOKEN_FIELDS) {
            if (record.containsKey(field)) {
                return context(ids(record.get(field), field));
            }
        }
        Object prompt = record.get("prompt");
        if (prompt instanceof List<?>) {
            return context(tokenizer.encodeChat(ChatMessage.listOf(prompt, "prompt"), true));
        }
        if (prompt instanceof String text) {
            if (text.isEmpty()) {
                throw new IllegalArgumentException("\"prompt\" is empty");
            }
            return context(tokenizer.withBos(tokenizer.encode(text)));
        }
        if (prompt != null) {
            throw new IllegalArgumentException("\"prompt\" must be a text or a list of messages, was " + prompt);
        }
        throw new IllegalArgumentException("a PPO record needs \"prompt\" (a text or a list of messages) or \"input_ids\" "
                + "(token ids); this one has " + record.keySet());
    }

    private static int[] ids(Object value, String field) {
        if (!(value instanceof List<?> list) || !list.stream().allMatch(x -> x instanceof Integer i && i >= 0)) {
            throw new IllegalArgumentException("\"" + field + "\" must be a list of token ids (integers >= 0)");
        }
        if (list.isEmpty()) {
            throw new IllegalArgumentException("\"" + field + "\" is empty");
        }
        return list.stream().mapToInt(x -> (Integer) x).toArray();
    }

    /** Tokens the model reads and continues: none is a target. */
    private static Example context(int[] ids) {
        return new Example(ids, new boolean[ids.length]);
    }
}
