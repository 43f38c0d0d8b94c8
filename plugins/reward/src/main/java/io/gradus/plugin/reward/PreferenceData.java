package io.gradus.plugin.reward;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.data.SequenceGroup;
import io.gradus.api.data.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Preference records in TRL's formats, turned into a {@link SequenceGroup} of two sequences
 * (chosen, then rejected), each a whole sequence as the model reads it, with the completion's tokens
 * marked as targets (what follows the prompt, or, with an implicit prompt, the prefix the two share):
 * <ul>
 *   <li>standard: {@code "prompt"} (optional) + {@code "chosen"}/{@code "rejected"} texts: BOS +
 *       tokens of the prompt + tokens of the completion + EOS (TRL's reward trainer appends EOS to
 *       texts; the prompt and completion are tokenized apart, as the SFT objective does);</li>
 *   <li>conversational: the same fields as lists of messages; prompt + completion rendered with the
 *       model's chat template, after BOS unless the template writes it
 *       ({@link TextTokenizer#encodeChat}), nothing appended;</li>
 *   <li>implicit prompt: {@code "chosen"}/{@code "rejected"} only, each the whole text or conversation;</li>
 *   <li>pre-tokenized: {@code "prompt_input_ids"} (optional) + {@code "chosen_input_ids"}/
 *       {@code "rejected_input_ids"}, or TRL's newer {@code "chosen_ids"}/{@code "rejected_ids"}
 *       (with {@code "prompt_ids"}): used exactly as given, nothing added, no tokenizer needed.</li>
 * </ul>
 * Numbers a record carries for the objective ({@code margin}, DPO's {@code ref_chosen_logps} and
 * {@code ref_rejected_logps}) become the group's values. A record whose chosen and rejected are
 * identical, one with a missing completion or a sequence of no tokens at all (nothing to score), or one
 * of the wrong type is refused with the field named. An empty completion is no error, as in the SFT
 * objective: the sequence is then the prompt (and an appended EOS), and the job warns about the
 * record, naming its line, since it trains on no text.
 */
public final class PreferenceData {

    /** TRL's optional per-pair margin m of the reward loss −log σ(r_c − r_r − m). */
    public static final String MARGIN = "margin";

    /** Numeric fields of a record that travel with its pair. */
    public static final List<String> VALUES = List.of(MARGIN, "ref_chosen_logps", "ref_rejected_logps");

    /** The pre-tokenized field names, legacy first: prompt, chosen, rejected. */
    private static final List<List<String>> TOKEN_FIELDS = List.of(
            List.of("prompt_input_ids", "chosen_input_ids", "rejected_input_ids"),
            List.of("prompt_ids", "chosen_ids", "rejected_ids"));

    private PreferenceData() {}

    /**
     * The record as a pair (chosen, rejected).
     *
     * @throws IllegalArgumentException naming the field that is missing, empty, identical or of the wrong type
     */
    public static SequenceGroup pair(Map<String, Object> record, TextTokenizer tokenizer) {
        Map<String, Double> values = values(record);
        for (List<String> fields : TOKEN_FIELDS) {
            if (record.containsKey(fields.get(1)) || record.containsKey(fields.get(2))) {
                int[] prompt = record.containsKey(fields.get(0)) ? ids(record, fields.get(0), true) : new int[0];
                return checked(sequence(prompt, ids(record, fields.get(1), true)),
                        sequence(prompt, ids(record, fields.get(2), true)), prompt.length, values, fields);
            }
        }
        require(record, "chosen");
        require(record, "rejected");
        Object prompt = record.get("prompt");
        if (record.get("chosen") instanceof List<?> || record.get("rejected") instanceof List<?>) {
            List<ChatMessage> context = prompt == null ? List.of() : ChatMessage.listOf(prompt, "prompt");
            int promptLength = context.isEmpty() ? 0 : tokenizer.encodeChat(context, true).length;
            return checked(split(conversation(context, ChatMessage.listOf(record.get("chosen"), "chosen"), tokenizer),
                    promptLength), split(conversation(context, ChatMessage.listOf(record.get("rejected"), "rejected"),
                    tokenizer), promptLength), promptLength, values, List.of("prompt", "chosen", "rejected"));
        }
        int[] context = tokenizer.withBos(prompt == null ? new int[0] : tokenizer.encode(text(record, "prompt", true)));
        return checked(sequence(context, tokenizer.withEos(tokenizer.encode(text(record, "chosen", true)))),
                sequence(context, tokenizer.withEos(tokenizer.encode(text(record, "rejected", true)))),
                prompt == null ? 0 : context.length, values, List.of("prompt", "chosen", "rejected"));
    }

    /**
     * One sequence to score: {@code {"text"}} (BOS + tokens + EOS), {@code {"prompt", "completion"}},
     * {@code {"messages"}} (rendered with the chat template) or {@code {"input_ids"}} (as given).
     *
     * @throws IllegalArgumentException naming what the record lacks
     */
    public static Example single(Map<String, Object> record, TextTokenizer tokenizer) {
        if (record.containsKey("input_ids")) {
            return Example.allTargets(ids(record, "input_ids", false));
        }
        if (record.containsKey("messages")) {
            return Example.allTargets(tokenizer.encodeChat(ChatMessage.listOf(record.get("messages"), "messages"), false));
        }
        if (record.containsKey("text")) {
            return Example.allTargets(tokenizer.withEos(tokenizer.withBos(tokenizer.encode(text(record, "text", false)))));
        }
        if (record.containsKey("completion")) {
            int[] context = tokenizer.withBos(record.containsKey("prompt") ? tokenizer.encode(text(record, "prompt", true))
                    : new int[0]);
            return sequence(context, tokenizer.withEos(tokenizer.encode(text(record, "completion", false))));
        }
        throw new IllegalArgumentException("a record to score needs \"text\", \"messages\", \"prompt\" and \"completion\", "
                + "\"input_ids\", or a preference pair's \"chosen\" and \"rejected\"; this one has " + record.keySet());
    }

    private static void require(Map<String, Object> record, String field) {
        if (record.get(field) == null) {
            throw new IllegalArgumentException("\"" + field + "\" is missing: a preference record needs \"chosen\" and "
                    + "\"rejected\" (and may have \"prompt\"), as texts, message lists or token ids; this one has "
                    + record.keySet());
        }
    }

    private static String text(Map<String, Object> record, String field, boolean mayBeEmpty) {
        if (!(record.get(field) instanceof String text)) {
            throw new IllegalArgumentException("\"" + field + "\" must be a text or a list of messages, was "
                    + record.get(field));
        }
        if (!mayBeEmpty && text.isEmpty()) {
            throw new IllegalArgumentException("\"" + field + "\" is empty");
        }
        return text;
    }

    private static int[] ids(Map<String, Object> record, String field, boolean mayBeEmpty) {
        Object value = record.get(field);
        if (value == null) {
            throw new IllegalArgumentException("\"" + field + "\" is missing beside the other token-id fields "
                    + record.keySet());
        }
        if (!(value instanceof List<?> list) || !list.stream().allMatch(x -> x instanceof Integer i && i >= 0)) {
            throw new IllegalArgumentException("\"" + field + "\" must be a list of token ids (integers >= 0)");
        }
        if (!mayBeEmpty && list.isEmpty()) {
            throw new IllegalArgumentException("\"" + field + "\" is empty");
        }
        return list.stream().mapToInt(x -> (Integer) x).toArray();
    }

    private static Map<String, Double> values(Map<String, Object> record) {
        Map<String, Double> values = new LinkedHashMap<>();
        for (String name : VALUES) {
            Object value = record.get(name);
            if (value == null) {
                continue;
            }
            if (!(value instanceof Number n) || !Double.isFinite(n.doubleValue())) {
                throw new IllegalArgumentException("\"" + name + "\" must be a number, was " + value);
            }
            values.put(name, n.doubleValue());
        }
        return values;
    }

    /** Prompt + completion in one conversation, rendered after BOS (one: a template may write it). */
    private static int[] conversation(List<ChatMessage> prompt, List<ChatMessage> completion, TextTokenizer tokenizer) {
        List<ChatMessage> all = new ArrayList<>(prompt);
        all.addAll(completion);
        return tokenizer.encodeChat(all, false);
    }

    /** {@code ids} as a sequence whose tokens from {@code promptLength} on are its targets. */
    private static Example split(int[] ids, int promptLength) {
        int at = Math.min(promptLength, ids.length);
        return sequence(Arrays.copyOf(ids, at), Arrays.copyOfRange(ids, at, ids.length));
    }

    /** prompt ++ completion as one sequence, the completion's tokens its targets. */
    private static Example sequence(int[] prompt, int[] completion) {
        int[] ids = Arrays.copyOf(prompt, prompt.length + completion.length);
        System.arraycopy(completion, 0, ids, prompt.length, completion.length);
        boolean[] targets = new boolean[ids.length];
        Arrays.fill(targets, prompt.length, ids.length, true);
        return new Example(ids, targets);
    }

    /**
     * The pair, refused when a sequence has no token or the two are identical; with an implicit prompt
     * (none given) the targets start after the prefix the two share, as TRL's {@code extract_prompt}
     * splits them.
     *
     * @param fields the record's prompt, chosen and rejected field names, for messages
     */
    private static SequenceGroup checked(Example chosen, Example rejected, int promptLength, Map<String, Double> values,
            List<String> fields) {
        for (int s = 0; s < 2; s++) {
            if ((s == 0 ? chosen : rejected).ids().length == 0) {
                throw new IllegalArgumentException("\"" + fields.get(s + 1) + "\" is empty and there is no prompt: the "
                        + "sequence has no token to score");
            }
        }
        if (Arrays.equals(chosen.ids(), rejected.ids())) {
            throw new IllegalArgumentException("\"" + fields.get(1) + "\" and \"" + fields.get(2) + "\" are identical: "
                    + "the pair says nothing about which is better");
        }
        if (promptLength == 0) {
            int shared = 0;
            while (shared < Math.min(chosen.ids().length, rejected.ids().length)
                    && chosen.ids()[shared] == rejected.ids()[shared]) {
                shared++;
            }
            chosen = split(chosen.ids(), shared);
            rejected = split(rejected.ids(), shared);
        }
        return new SequenceGroup(List.of(chosen, rejected), values);
    }
}
