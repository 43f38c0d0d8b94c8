package io.gradus.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.core.io.JsonFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Chat templates: how a conversation becomes the text a chat model was trained on.
 *
 * <p>Gradus does not interpret Jinja. It recognises the template family from the
 * {@code chat_template} of {@code tokenizer_config.json} and renders that family's format itself,
 * character for character what the Jinja template renders (checked against Jinja2 in the tests):
 * <ul>
 *   <li>{@link Family#CHATML}: {@code <|im_start|>role\ncontent<|im_end|>\n} (Qwen2, SmolLM2, ...);</li>
 *   <li>{@link Family#LLAMA3}: BOS, then {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}
 *       with the content trimmed;</li>
 *   <li>{@link Family#ZEPHYR}: {@code <|role|>\ncontent</s>\n}.</li>
 * </ul>
 * Other templates (Llama 2's [INST] format, templates with default system prompts or tools) are
 * refused with a clear error rather than rendered approximately.
 */
public record ChatTemplate(Family family, String bosToken, String eosToken) {

    private static final String CONFIG = "tokenizer_config.json";

    /** One turn of a conversation. */
    public record Message(String role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }
    }

    /** The template families Gradus renders. */
    public enum Family {
        CHATML,
        LLAMA3,
        ZEPHYR
    }

    /**
     * Reads {@code tokenizer_config.json} from a model folder.
     *
     * @throws IOException when the file or its chat template is missing, the file is not JSON, or
     *     the template is of a family Gradus does not render
     */
    public static ChatTemplate load(Path modelDir) throws IOException {
        return find(modelDir).orElseThrow(() -> Files.isRegularFile(modelDir.resolve(CONFIG))
                ? new IOException(modelDir.resolve(CONFIG) + ": no chat_template")
                : new IOException(modelDir + ": no " + CONFIG + ", so no chat template"));
    }

    /**
     * The chat template of a model folder, or empty when the folder has none: no
     * {@code tokenizer_config.json}, or one without {@code chat_template}. A template that is there
     * but cannot be used is an error, never "none": a caller that treats a broken file as a model
     * without a template hides the reason from the user.
     *
     * @throws IOException naming the file when it is not JSON, or its template is of a family
     *     Gradus does not render
     */
    public static Optional<ChatTemplate> find(Path modelDir) throws IOException {
        Path file = modelDir.resolve(CONFIG);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        JsonNode config = JsonFiles.readObject(file);
        JsonNode template = config.get("chat_template");
        if (template != null && template.isArray()) {
            // Newer files list named templates; the one named "default" is the chat template.
            JsonNode chosen = null;
            for (JsonNode t : template) {
                if ("default".equals(t.path("name").asText())) {
                    chosen = t.get("template");
                }
            }
            if (chosen == null) {
                throw new IOException(file + ": chat_template lists no template named \"default\"");
            }
            template = chosen;
        }
        if (template == null || template.isNull()) {
            return Optional.empty();
        }
        if (!template.isTextual()) {
            throw new IOException(file + ": chat_template is " + JsonFiles.kind(template) + ", not the template's text");
        }
        try {
            return Optional.of(new ChatTemplate(detect(template.asText()), token(file, config, "bos_token"),
                    token(file, config, "eos_token")));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** The family of a Jinja chat template, by the markers only that family uses. */
    public static Family detect(String jinja) {
        if (jinja.contains("<|im_start|>")) {
            return Family.CHATML;
        }
        if (jinja.contains("<|start_header_id|>")) {
            return Family.LLAMA3;
        }
        if (jinja.contains("'<|' + message['role'] + '|>") || jinja.contains("<|assistant|>")) {
            return Family.ZEPHYR;
        }
        throw new IllegalArgumentException("the chat template is not one Gradus renders (ChatML, Llama 3, Zephyr); "
                + "see ChatTemplate's documentation");
    }

    /** A special token: a string, or an object whose {@code content} is the string (older files), or none. */
    private static String token(Path file, JsonNode config, String field) throws IOException {
        JsonNode node = config.get(field);
        if (node == null || node.isNull()) {
            return "";
        }
        JsonNode content = node.isObject() ? node.get("content") : node;
        if (content == null || !content.isTextual()) {
            throw new IOException(file + ": " + field + " must be a string or an object with a string content, found " + node);
        }
        return content.asText();
    }

    /**
     * Renders {@code messages}; with {@code addGenerationPrompt} the text ends with the header of an
     * assistant turn, ready for generation.
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        StringBuilder text = new StringBuilder();
        switch (family) {
            case CHATML -> {
                for (Message m : messages) {
                    text.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                }
                if (addGenerationPrompt) {
                    text.append("<|im_start|>assistant\n");
                }
            }
            case LLAMA3 -> {
                text.append(bosToken);
                for (Message m : messages) {
                    text.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                            .append(m.content().strip()).append("<|eot_id|>");
                }
                if (addGenerationPrompt) {
                    text.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                }
            }
            case ZEPHYR -> {
                for (Message m : messages) {
                    text.append("<|").append(m.role()).append("|>\n").append(m.content()).append(eosToken).append('\n');
                }
                if (addGenerationPrompt) {
                    text.append("<|assistant|>\n");
                }
            }
        }
        return text.toString();
    }
}
