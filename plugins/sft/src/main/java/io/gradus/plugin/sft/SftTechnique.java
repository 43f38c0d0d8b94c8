package io.gradus.plugin.sft;

import io.gradus.api.data.ChatMessage;
import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueName;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code sft} objective: the next-token loss conditioned on a prompt, so the model learns to
 * answer instructions instead of continuing them. Reads TRL's three data formats:
 * <ul>
 *   <li>{@code {"text": ...}}: every token is a target (plain language modelling);</li>
 *   <li>{@code {"prompt": ..., "completion": ...}}: BOS + prompt + completion + EOS, targets the
 *       completion and EOS;</li>
 *   <li>{@code {"messages": [{"role", "content"}, ...]}}: rendered with the model's chat template,
 *       targets the assistant turns (each one's content and end marker).</li>
 * </ul>
 * With {@code completionOnly: false} every token after the first is a target.
 */
@Component(service = Objective.class)
@TechniqueName("sft")
public final class SftTechnique implements Objective<SftConfig> {

    @Override
    public Class<SftConfig> configType() {
        return SftConfig.class;
    }

    @Override
    public String description() {
        return "Supervised fine-tuning: next-token loss on completions or assistant turns";
    }

    @Override
    public StepResult step(SftConfig config, TokenBatch batch, ModelRunner runner, float gradScale) {
        return NextTokenLoss.step(batch, runner, gradScale);
    }

    @Override
    public Example encode(SftConfig config, Map<String, Object> record, TextTokenizer tokenizer) {
        Example example;
        if (record.get("messages") != null) {
            example = chat(messages(record.get("messages")), tokenizer);
        } else if (record.get("prompt") instanceof String prompt && record.get("completion") instanceof String completion) {
            example = promptCompletion(prompt, completion, tokenizer);
        } else if (record.get("text") instanceof String text) {
            return Example.allTargets(tokenizer.withEos(tokenizer.withBos(tokenizer.encode(text))));
        } else {
            throw new IllegalArgumentException("an SFT record needs \"messages\", \"prompt\" and \"completion\", or \"text\"; "
                    + "this one has " + record.keySet());
        }
        return config.completionOnly() ? example : Example.allTargets(example.ids());
    }

    private static Example promptCompletion(String prompt, String completion, TextTokenizer tokenizer) {
        int[] p = tokenizer.encode(prompt);
        int[] c = tokenizer.encode(completion);
        int bos = tokenizer.bosId() >= 0 ? 1 : 0;
        int eos = tokenizer.eosId() >= 0 ? 1 : 0;
        int[] ids = new int[bos + p.length + c.length + eos];
        boolean[] targets = new boolean[ids.length];
        if (bos == 1) {
            ids[0] = tokenizer.bosId();
        }
        System.arraycopy(p, 0, ids, bos, p.length);
        System.arraycopy(c, 0, ids, bos + p.length, c.length);
        if (eos == 1) {
            ids[ids.length - 1] = tokenizer.eosId();
        }
        Arrays.fill(targets, bos + p.length, ids.length, true);
        return new Example(ids, targets);
    }

    /**
     * Targets each assistant turn: the tokens between the rendering of the conversation up to that
     * turn's header (with the generation prompt) and the rendering up to the turn's end.
     */
    private static Example chat(List<ChatMessage> messages, TextTokenizer tokenizer) {
        int[] ids = tokenizer.encodeChat(messages, false);
        boolean[] targets = new boolean[ids.length];
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).role().equals("assistant")) {
                continue;
            }
            int start = tokenizer.encodeChat(messages.subList(0, i), true).length;
            int end = tokenizer.encodeChat(messages.subList(0, i + 1), false).length;
            Arrays.fill(targets, start, Math.min(ids.length, end), true);
        }
        return new Example(ids, targets);
    }

    private static List<ChatMessage> messages(Object value) {
        List<ChatMessage> messages = ChatMessage.listOf(value, "messages");
        if (messages.stream().noneMatch(m -> m.role().equals("assistant"))) {
            throw new IllegalArgumentException("the conversation has no assistant turn to learn from");
        }
        return messages;
    }
}
