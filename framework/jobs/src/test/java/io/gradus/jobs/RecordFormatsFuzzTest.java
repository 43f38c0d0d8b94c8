package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradus.api.data.Example;
import io.gradus.api.technique.TechniqueCatalog;
import io.gradus.api.technique.TechniqueDescriptor;
import io.gradus.api.technique.TechniqueFamily;
import io.gradus.api.technique.Objective;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.fuzz.Mutant;
import io.gradus.core.fuzz.Mutations;
import io.gradus.core.fuzz.ScratchFolder;
import io.gradus.core.llama.LlamaConfig;
import io.gradus.core.tokenizer.BpeTrainer;
import io.gradus.core.tokenizer.HfTokenizer;
import io.gradus.plugin.reward.internal.RewardTechnique;
import io.gradus.plugin.sft.SftTechnique;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Fuzzes the record formats users write for the {@code sft} and {@code reward} objectives, read
 * through the job's data path ({@link JobData#read}: the JSONL reader, the objective's encoding, the
 * vocabulary check) on the tiny world's BPE tokenizer and ChatML template. A damaged record among
 * good ones is encoded as the test itself reads its JSON, or refused with an error naming the file
 * and reading as a sentence ({@link CleanLoad}). The properties live here, not in the plugins: the
 * JSONL reader is this module's, and this module already tests with the plugins (a plugin's tests
 * depending on it would be a cycle).
 */
class RecordFormatsFuzzTest {

    private static final String SFT_PROMPT = "{\"prompt\": \"the cat sat\", \"completion\": \"on a mat.\"}";

    private static final String SFT_CHAT = "{\"messages\": [{\"role\": \"user\", \"content\": \"the cat sat\"},"
            + " {\"role\": \"assistant\", \"content\": \"on a mat.\"}]}";

    private static final String PREFERENCE_TEXT = "{\"prompt\": \"the cat\", \"chosen\": \"sat on a mat.\","
            + " \"rejected\": \"ran to the park.\", \"margin\": 0.5}";

    private static final String PREFERENCE_IDS = "{\"prompt_input_ids\": [1, 20, 21], \"chosen_input_ids\": [22, 23],"
            + " \"rejected_input_ids\": [24], \"margin\": 1}";

    /** The token-id fields of a pre-tokenized pair, legacy names first: prompt, chosen, rejected. */
    private static final List<List<String>> ID_FIELDS = List.of(
            List.of("prompt_input_ids", "chosen_input_ids", "rejected_input_ids"),
            List.of("prompt_ids", "chosen_ids", "rejected_ids"));

    private static final ScratchFolder SCRATCH = new ScratchFolder("record-formats");

    private static TinyWorld world;
    private static final Map<String, JobData> DATA = new HashMap<>();

    /** The job data of the tiny world with {@code objective}, opened once for all tries. */
    private static synchronized JobData data(String objective) throws IOException {
        if (world == null) {
            world = new TinyWorld(Files.createDirectories(SCRATCH.dir().resolve("world")));
        }
        if (!DATA.containsKey(objective)) {
            TechniqueCatalog catalog = TinyWorld.catalog(List.of(found("sft", new SftTechnique()),
                    found("reward", new RewardTechnique())));
            String job = world.job(2, "out").replace("objective: {name: pretrain}", "objective: {name: " + objective + "}");
            var spec = JobFiles.resolve(JobFiles.read(job, "job.yaml"), world.dir, world.dir.resolve("o"));
            DATA.put(objective, JobData.open(spec, catalog, world.model));
        }
        return DATA.get(objective);
    }

    private static TechniqueCatalog.Found<?> found(String name, Objective<?> objective) {
        return new TechniqueCatalog.Found<>(new TechniqueDescriptor(name, TechniqueFamily.OBJECTIVE, "0.1.0", name, 20,
                "io.gradus.plugin." + name), objective);
    }

    @AfterContainer
    static void close() {
        DATA.values().forEach(JobData::close);
    }

    /** Half well-formed edits of {@code record} (to reach the checks of accepted records), half damaged text. */
    private static Arbitrary<Mutant> damaged(String record) {
        JsonNode seed = Mutations.parse(record);
        return Arbitraries.oneOf(Mutations.edited(seed), Mutations.damaged(Mutations.json(seed)));
    }

    @Provide
    Arbitrary<Mutant> sftPromptRecords() {
        return damaged(SFT_PROMPT);
    }

    @Provide
    Arbitrary<Mutant> sftChatRecords() {
        return damaged(SFT_CHAT);
    }

    @Provide
    Arbitrary<Mutant> preferenceTextRecords() {
        return damaged(PREFERENCE_TEXT);
    }

    @Provide
    Arbitrary<Mutant> preferenceIdRecords() {
        return damaged(PREFERENCE_IDS);
    }

    @Property(tries = 1500, seed = Mutations.SEED)
    @Label("sft: a damaged prompt/completion record among good ones is encoded as written or refused cleanly")
    void damagedSftPromptRecords(@ForAll("sftPromptRecords") Mutant input) throws IOException {
        readSft(SFT_PROMPT, input);
    }

    @Property(tries = 1500, seed = Mutations.SEED)
    @Label("sft: a damaged conversation among good ones is encoded as written or refused cleanly")
    void damagedSftChatRecords(@ForAll("sftChatRecords") Mutant input) throws IOException {
        readSft(SFT_CHAT, input);
    }

    @Property(tries = 1500, seed = Mutations.SEED)
    @Label("reward: a damaged text preference pair among good ones is encoded as written or refused cleanly")
    void damagedPreferenceTextRecords(@ForAll("preferenceTextRecords") Mutant input) throws IOException {
        readPreferences(PREFERENCE_TEXT, input);
    }

    @Property(tries = 1500, seed = Mutations.SEED)
    @Label("reward: a damaged pre-tokenized preference pair among good ones is encoded as written or refused cleanly")
    void damagedPreferenceIdRecords(@ForAll("preferenceIdRecords") Mutant input) throws IOException {
        readPreferences(PREFERENCE_IDS, input);
    }

    private static void readSft(String good, Mutant input) throws IOException {
        Path file = SCRATCH.write("train.jsonl", JobInputsFuzzTest.amongGoodRecords(good, input));
        JobData data = data("sft");
        CleanLoad.attempt(() -> JobInputsFuzzTest.refusedAsArgument(() -> data.read(file, Integer.MAX_VALUE)), file)
                .ifPresent(records -> records.forEach(record -> {
                    JsonNode json = JobInputsFuzzTest.lineOf(file, record);
                    assertThat(json.isObject()).as("line " + record.line() + " accepted as a record").isTrue();
                    assertThat(record.sequences()).hasSize(1);
                    assertSequence(sftExpected(json, tokenizer()), record.sequences().getFirst(), record.line());
                }));
    }

    private static void readPreferences(String good, Mutant input) throws IOException {
        Path file = SCRATCH.write("train.jsonl", JobInputsFuzzTest.amongGoodRecords(good, input));
        JobData data = data("reward");
        CleanLoad.attempt(() -> JobInputsFuzzTest.refusedAsArgument(() -> data.read(file, Integer.MAX_VALUE)), file)
                .ifPresent(records -> records.forEach(record -> {
                    JsonNode json = JobInputsFuzzTest.lineOf(file, record);
                    assertThat(json.isObject()).as("line " + record.line() + " accepted as a record").isTrue();
                    List<Expected> pair = preferenceExpected(json, tokenizer());
                    assertThat(record.sequences()).hasSize(2);
                    assertSequence(pair.get(0), record.sequences().get(0), record.line());
                    assertSequence(pair.get(1), record.sequences().get(1), record.line());
                    assertThat(pair.get(0).ids()).as("chosen and rejected differ").isNotEqualTo(pair.get(1).ids());
                    JsonNode margin = json.get("margin");
                    if (margin == null || margin.isNull()) {
                        assertThat(record.values()).doesNotContainKey("margin");
                    } else {
                        assertThat(margin.isNumber()).as("margin " + margin + " accepted").isTrue();
                        assertThat(record.values().get("margin")).isEqualTo(margin.asDouble()).isFinite();
                    }
                }));
    }

    /** A sequence as the test expects it: its ids, and the index of its first target (all after it are targets). */
    private record Expected(int[] ids, boolean[] targets) {

        static Expected after(int[] ids, int firstTarget) {
            boolean[] targets = new boolean[ids.length];
            Arrays.fill(targets, Math.min(firstTarget, ids.length), ids.length, true);
            return new Expected(ids, targets);
        }
    }

    private static void assertSequence(Expected expected, Example actual, int line) {
        assertThat(actual.ids()).as("ids of line " + line).containsExactly(expected.ids());
        assertThat(actual.targets()).as("targets of line " + line).containsExactly(expected.targets());
    }

    /**
     * What an SFT record must encode to, as TRL's formats say: a conversation (when {@code messages}
     * is not null) rendered with ChatML after BOS, its assistant turns the targets; else a prompt and
     * completion, BOS + prompt + completion + EOS, the completion and EOS the targets; else a text,
     * every token after BOS a target.
     */
    private static Expected sftExpected(JsonNode json, HfTokenizer tokenizer) {
        JsonNode messages = json.get("messages");
        if (messages != null && !messages.isNull()) {
            List<String[]> turns = messages(messages, "messages");
            assertThat(turns).as("a conversation with an assistant turn").anyMatch(t -> t[0].equals("assistant"));
            int[] ids = chat(turns, false, tokenizer);
            boolean[] targets = new boolean[ids.length];
            for (int i = 0; i < turns.size(); i++) {
                if (turns.get(i)[0].equals("assistant")) {
                    int start = chat(turns.subList(0, i), true, tokenizer).length;
                    int end = chat(turns.subList(0, i + 1), false, tokenizer).length;
                    Arrays.fill(targets, start, Math.min(end, ids.length), true);
                }
            }
            return new Expected(ids, targets);
        }
        if (json.path("prompt").isTextual() && json.path("completion").isTextual()) {
            int[] prompt = withBos(encode(json.get("prompt").asText(), tokenizer));
            return Expected.after(concat(prompt, withEos(encode(json.get("completion").asText(), tokenizer))), prompt.length);
        }
        assertThat(json.path("text").isTextual()).as("a record of no SFT format accepted: " + json).isTrue();
        return Expected.after(withEos(withBos(encode(json.get("text").asText(), tokenizer))), 1);
    }

    /**
     * What a preference record must encode to, chosen then rejected: pre-tokenized ids exactly as given
     * (when a chosen or rejected id field is there), else texts (BOS + prompt + completion + EOS) or
     * conversations (ChatML after BOS); the targets start after the prompt, or after the prefix the two
     * share when there is no prompt.
     */
    private static List<Expected> preferenceExpected(JsonNode json, HfTokenizer tokenizer) {
        for (List<String> fields : ID_FIELDS) {
            if (json.has(fields.get(1)) || json.has(fields.get(2))) {
                int[] prompt = json.has(fields.get(0)) ? ids(json.get(fields.get(0)), fields.get(0)) : new int[0];
                return split(concat(prompt, ids(json.get(fields.get(1)), fields.get(1))),
                        concat(prompt, ids(json.get(fields.get(2)), fields.get(2))), prompt.length);
            }
        }
        JsonNode prompt = json.get("prompt");
        boolean noPrompt = prompt == null || prompt.isNull();
        if (json.path("chosen").isArray() || json.path("rejected").isArray()) {
            List<String[]> context = noPrompt ? List.of() : messages(prompt, "prompt");
            int promptLength = context.isEmpty() ? 0 : chat(context, true, tokenizer).length;
            return split(conversation(context, messages(json.get("chosen"), "chosen"), tokenizer),
                    conversation(context, messages(json.get("rejected"), "rejected"), tokenizer), promptLength);
        }
        for (String field : List.of("chosen", "rejected")) {
            assertThat(json.path(field).isTextual()).as(field + " " + json.get(field) + " accepted").isTrue();
        }
        assertThat(noPrompt || prompt.isTextual()).as("prompt " + prompt + " accepted").isTrue();
        int[] context = withBos(noPrompt ? new int[0] : encode(prompt.asText(), tokenizer));
        return split(concat(context, withEos(encode(json.get("chosen").asText(), tokenizer))),
                concat(context, withEos(encode(json.get("rejected").asText(), tokenizer))), noPrompt ? 0 : context.length);
    }

    /** The pair with targets after {@code promptLength}, or, for no prompt, after the prefix the two share. */
    private static List<Expected> split(int[] chosen, int[] rejected, int promptLength) {
        int from = promptLength;
        if (promptLength == 0) {
            while (from < Math.min(chosen.length, rejected.length) && chosen[from] == rejected[from]) {
                from++;
            }
        }
        return List.of(Expected.after(chosen, from), Expected.after(rejected, from));
    }

    private static int[] conversation(List<String[]> prompt, List<String[]> completion, HfTokenizer tokenizer) {
        List<String[]> all = new ArrayList<>(prompt);
        all.addAll(completion);
        return chat(all, false, tokenizer);
    }

    /** Token ids as written: a list of integers from 0 below 2^31. */
    private static int[] ids(JsonNode list, String field) {
        assertThat(list != null && list.isArray()).as(field + " " + list + " accepted as token ids").isTrue();
        List<JsonNode> items = new ArrayList<>();
        list.forEach(items::add);
        assertThat(items).as(field + " accepted as token ids").allMatch(x -> x.isInt() && x.asInt() >= 0);
        return items.stream().mapToInt(JsonNode::asInt).toArray();
    }

    /** The (role, content) pairs of a non-empty list of messages with text roles and contents. */
    private static List<String[]> messages(JsonNode list, String field) {
        assertThat(list != null && list.isArray() && !list.isEmpty()).as(field + " " + list + " accepted").isTrue();
        List<String[]> turns = new ArrayList<>();
        for (JsonNode message : list) {
            assertThat(message.path("role").isTextual() && message.path("content").isTextual())
                    .as("message " + message + " of " + field + " accepted").isTrue();
            turns.add(new String[] {message.get("role").asText(), message.get("content").asText()});
        }
        return turns;
    }

    /** The tiny world's ChatML rendering of {@code turns}, tokenized, after BOS. */
    private static int[] chat(List<String[]> turns, boolean generationPrompt, HfTokenizer tokenizer) {
        StringBuilder text = new StringBuilder();
        for (String[] turn : turns) {
            text.append(BpeTrainer.IM_START).append(turn[0]).append('\n').append(turn[1]).append(BpeTrainer.IM_END)
                    .append('\n');
        }
        if (generationPrompt) {
            text.append(BpeTrainer.IM_START).append("assistant\n");
        }
        return withBos(encode(text.toString(), tokenizer));
    }

    private static HfTokenizer tokenizer() {
        try {
            return data("sft").tokenizer().orElseThrow();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] encode(String text, HfTokenizer tokenizer) {
        return tokenizer.tokenize(text, false).ids();
    }

    private static int[] withBos(int[] ids) {
        return concat(new int[] {special(true)}, ids);
    }

    private static int[] withEos(int[] ids) {
        return concat(ids, new int[] {special(false)});
    }

    /** The tiny model's BOS ({@code bos}) or EOS id, from its configuration. */
    private static int special(boolean bos) {
        try {
            LlamaConfig config = LlamaConfig.read(world.model.resolve("config.json"));
            return bos ? config.bosTokenId() : config.eosTokenId();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }
}
