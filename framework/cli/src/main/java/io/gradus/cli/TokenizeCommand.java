package io.gradus.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradus.core.io.JsonFiles;
import io.gradus.core.tokenizer.ChatTemplate;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradus tokenize}: the tokens of a text or a conversation, as Hugging Face's tokenizers give
 * them, printed as JSON. Reads only the model folder's tokenizer files.
 */
@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = {
            "Print the tokens of a text or a conversation as JSON {\"ids\": [...], \"tokens\": [...]}, exactly as Hugging Face's",
            "tokenizers give them. Special tokens written in the text are single tokens; none are added unless asked.",
            "Reads only tokenizer.json (and tokenizer_config.json for a conversation): no weights needed."
        })
final class TokenizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model folder with tokenizer.json (default: the built-in model of gradus pretrain).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    /** What to tokenize: one of the two. */
    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "The text to tokenize.")
        String text;

        @Option(names = "--messages", paramLabel = "FILE.json",
                description = {"A conversation: a JSON list of {\"role\", \"content\"}, or {\"messages\": [...]} as in SFT data.",
                    "Rendered with the model's chat template, then tokenized without adding special tokens,",
                    "as apply_chat_template(messages, tokenize=True) does."})
        Path messages;
    }

    @Option(names = "--add-special-tokens",
            description = "With --text: add the special tokens the tokenizer adds around a text (BOS for Llama 3), as add_special_tokens=True.")
    boolean addSpecialTokens;

    @Option(names = "--chat", description = "With --messages: also print the chat template's rendering, as \"text\".")
    boolean chat;

    @Option(names = "--generation-prompt",
            description = "With --messages: end with the header of an assistant turn, as add_generation_prompt=True.")
    boolean generationPrompt;

    @Override
    public Integer call() throws Exception {
        if (input.text != null && (chat || generationPrompt)) {
            throw new ParameterException(spec.commandLine(), (chat ? "--chat" : "--generation-prompt")
                    + " goes with --messages (a conversation), not --text");
        }
        if (input.messages != null && addSpecialTokens) {
            throw new ParameterException(spec.commandLine(), "--add-special-tokens goes with --text; with --messages the chat"
                    + " template writes the special tokens itself");
        }
        Path folder = DefaultModel.orDefault(model, spec.commandLine());
        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        try (HfTokenizer tokenizer = HfTokenizer.load(folder)) {
            HfTokenizer.Tokens tokens;
            if (input.text != null) {
                tokens = tokenizer.tokenize(input.text, addSpecialTokens);
            } else {
                // The template writes BOS where it wants one; nothing more is added (apply_chat_template).
                List<ChatTemplate.Message> messages = messages(input.messages);
                String text = ChatTemplate.load(folder).render(messages, generationPrompt);
                if (chat) {
                    out.put("text", text);
                }
                tokens = tokenizer.tokenize(text, false);
            }
            var ids = out.putArray("ids");
            for (int id : tokens.ids()) {
                ids.add(id);
            }
            var strings = out.putArray("tokens");
            tokens.tokens().forEach(strings::add);
        }
        PrintWriter writer = spec.commandLine().getOut();
        writer.println(json.writeValueAsString(out));
        writer.flush();
        return 0;
    }

    /** The conversation in {@code file}: a list of messages, or an object whose {@code messages} is one. */
    static List<ChatTemplate.Message> messages(Path file) throws IOException {
        JsonNode root = JsonFiles.read(file);
        JsonNode list = root.isObject() ? root.path("messages") : root;
        if (!list.isArray()) {
            throw new IOException(file + ": expected a list of messages [{\"role\": ..., \"content\": ...}] or an object"
                    + " {\"messages\": [...]}, found " + (root.isObject() ? "an object without a \"messages\" list"
                            : JsonFiles.kind(root)));
        }
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (JsonNode message : list) {
            JsonNode role = message.path("role");
            JsonNode content = message.path("content");
            if (!role.isTextual() || !content.isTextual()) {
                String found = message.toString();
                throw new IOException(file + ": message " + (messages.size() + 1) + " needs \"role\" and \"content\" strings,"
                        + " found " + (found.length() > 200 ? found.substring(0, 200) + "..." : found));
            }
            messages.add(new ChatTemplate.Message(role.asText(), content.asText()));
        }
        if (messages.isEmpty()) {
            throw new IOException(file + ": the conversation has no messages");
        }
        return messages;
    }
}
